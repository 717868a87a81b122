export * from './oauth.error';
