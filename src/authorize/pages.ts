import { createHash } from 'node:crypto';

/** A server-rendered HTML page and the Content-Security-Policy it is served with. */
export interface HtmlPage {
  status: number;
  html: string;
  csp: string;
}

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CSS = `
:root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--text:#1f2328;--muted:#59636e;--border:#c9d1d9;--accent:#0b5cad;--accent-hover:#094b8e;--on-accent:#fff;--alert-bg:#fdecea;--alert-text:#8a1c12;--alert-border:#f1aeb5}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--text:#e6edf3;--muted:#9ba6b2;--border:#3d444d;--accent:#4493f8;--accent-hover:#6cabf9;--on-accent:#0d1117;--alert-bg:#3c1618;--alert-text:#ffb3ad;--alert-border:#7d2a2a}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;padding:1rem;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{width:100%;max-width:24rem;background:var(--card);border:1px solid var(--border);border-radius:12px;padding:2rem 1.5rem;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .25rem}
.sub{margin:0 0 1.5rem;color:var(--muted);overflow-wrap:anywhere}
.alert{margin:0 0 1rem;padding:.75rem 1rem;border:1px solid var(--alert-border);border-radius:8px;background:var(--alert-bg);color:var(--alert-text)}
label{display:block;font-weight:600;margin:1rem 0 .375rem}
input[type=text],input[type=password]{display:block;width:100%;padding:.625rem .75rem;font:inherit;color:inherit;background:var(--card);border:1px solid var(--border);border-radius:8px}
input:focus-visible,button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
button{display:block;width:100%;margin-top:1.5rem;padding:.75rem 1rem;font:inherit;font-weight:600;color:var(--on-accent);background:var(--accent);border:1px solid var(--accent);border-radius:8px;cursor:pointer}
button:hover{background:var(--accent-hover)}
button.secondary{margin-top:.75rem;font-weight:500;color:var(--text);background:transparent;border-color:var(--border)}
button.secondary:hover{background:var(--bg)}
.hint{margin:.375rem 0 0;font-size:.8125rem;color:var(--muted)}
.foot{margin:1.5rem 0 0;font-size:.8125rem;color:var(--muted);text-align:center}
code{font-size:.875em;overflow-wrap:anywhere}
`.trim();

const STYLE_HASH = `'sha256-${createHash('sha256').update(CSS, 'utf8').digest('base64')}'`;

/**
 * No script at all; styles only from the page's own <style> element (by hash); no framing; forms
 * only to this server and, for the login page, to the origin of the redirect it answers with
 * (Chromium applies form-action to the redirect that follows a form submission).
 */
function csp(formAction: string, scriptSrc?: string): string {
  return [
    "default-src 'none'",
    `style-src ${STYLE_HASH}`,
    ...(scriptSrc ? [`script-src ${scriptSrc}`] : []),
    "img-src 'self' data:",
    "base-uri 'none'",
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The CSP source expression of a redirect URI: its origin, or its scheme for a native app's custom scheme. */
export function redirectSource(uri: string): string | null {
  try {
    const url = new URL(uri);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
    return /^[a-z][a-z0-9+.-]*:$/i.test(url.protocol) ? url.protocol : null;
  } catch {
    return null;
  }
}

function layout(title: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${body}
<p class="foot">Secured by Gatehouse</p>
</main>
${script}</body>
</html>
`;
}

export interface LoginPageInput {
  status: number;
  /** Where the form posts: the authorization endpoint's path. */
  action: string;
  clientName: string;
  /** Authorization request parameters and the CSRF token, as hidden fields. */
  hidden: Record<string, string>;
  username?: string;
  error?: string;
  /** The redirect URI the form's success or cancel answers redirect to, for form-action. */
  redirectUri: string;
}

export function loginPage(input: LoginPageInput): HtmlPage {
  const hidden = Object.entries(input.hidden)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const invalid = input.error ? ' aria-invalid="true" aria-describedby="login-error"' : '';
  // Put the cursor where the user has to type next.
  const focusPassword = !!input.error && !!input.username;
  const body = `<h1>Sign in</h1>
<p class="sub">to continue to <strong>${escapeHtml(input.clientName)}</strong></p>
${input.error ? `<p class="alert" role="alert" id="login-error">${escapeHtml(input.error)}</p>\n` : ''}<form method="post" action="${escapeHtml(input.action)}">
${hidden}
<label for="username">Username, email or phone number</label>
<input id="username" name="username" type="text" value="${escapeHtml(input.username ?? '')}" autocomplete="username" autocapitalize="none" autocorrect="off" spellcheck="false" required${focusPassword ? '' : ' autofocus'}${invalid}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${focusPassword ? ' autofocus' : ''}${invalid}>
<label for="otp">One-time code (if enabled)</label>
<input id="otp" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="7" aria-describedby="otp-hint">
<p class="hint" id="otp-hint">The 6-digit code from your authenticator app, if your account uses one.</p>
<button type="submit" name="action" value="login">Sign in</button>
<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>
</form>`;
  const target = redirectSource(input.redirectUri);
  return { status: input.status, html: layout('Sign in', body), csp: csp(target ? `'self' ${target}` : "'self'") };
}

export function errorPage(status: number, error: string, message: string): HtmlPage {
  const body = `<h1>Cannot continue</h1>
<p class="alert" role="alert">${escapeHtml(message)}</p>
<p class="sub">Return to the application and try again. If the problem persists, contact its administrator.</p>
<p class="sub">Error: <code>${escapeHtml(error)}</code></p>`;
  return { status, html: layout('Sign-in error', body), csp: csp("'none'") };
}

/** The one script of the hosted pages, allowed by its hash: it submits the form_post response. */
const AUTO_SUBMIT = 'document.forms[0].submit();';
const AUTO_SUBMIT_HASH = `'sha256-${createHash('sha256').update(AUTO_SUBMIT, 'utf8').digest('base64')}'`;

/**
 * OAuth 2.0 Form Post Response Mode: the response parameters as hidden fields of a form that posts
 * itself to the redirect_uri; without script the user presses the button.
 */
export function formPostPage(redirectUri: string, params: Record<string, string | undefined>): HtmlPage {
  const hidden = Object.entries(params)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const body = `<h1>Signing you in…</h1>
<form method="post" action="${escapeHtml(redirectUri)}">
${hidden}
<noscript><p class="sub">JavaScript is off: press the button to continue.</p></noscript>
<button type="submit">Continue</button>
</form>`;
  const target = redirectSource(redirectUri);
  return { status: 200, html: layout('Signing in', body, `<script>${AUTO_SUBMIT}</script>\n`), csp: csp(target ?? "'none'", AUTO_SUBMIT_HASH) };
}

export interface LogoutConfirmationInput {
  /** Where the form posts: the end_session endpoint's path. */
  action: string;
  /** The application that asked, when known. */
  clientName?: string;
  hidden: Record<string, string>;
  /** The post-logout redirect, for form-action (the answer to the POST redirects there). */
  redirectUri?: string;
  status?: number;
  error?: string;
}

/** RP-Initiated Logout 1.0 §2: without a valid id_token_hint the user confirms, so no other site can sign them out. */
export function logoutConfirmationPage(input: LogoutConfirmationInput): HtmlPage {
  const hidden = Object.entries(input.hidden)
    .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
    .join('\n');
  const body = `<h1>Sign out</h1>
${input.error ? `<p class="alert" role="alert">${escapeHtml(input.error)}</p>\n` : ''}<p class="sub">${input.clientName ? `<strong>${escapeHtml(input.clientName)}</strong> asks to sign you out.` : 'Do you want to sign out?'}</p>
<form method="post" action="${escapeHtml(input.action)}">
${hidden}
<button type="submit" name="action" value="logout">Sign out</button>
<button type="submit" name="action" value="cancel" class="secondary">Stay signed in</button>
</form>`;
  const target = input.redirectUri ? redirectSource(input.redirectUri) : null;
  return { status: input.status ?? 200, html: layout('Sign out', body), csp: csp(target ? `'self' ${target}` : "'self'") };
}

/** After a logout with nowhere to return to (no post_logout_redirect_uri), or a cancelled one. */
export function loggedOutPage(signedOut: boolean): HtmlPage {
  const body = signedOut
    ? `<h1>Signed out</h1>
<p class="sub">You have been signed out. You can close this window.</p>`
    : `<h1>Still signed in</h1>
<p class="sub">You were not signed out. You can close this window.</p>`;
  return { status: 200, html: layout(signedOut ? 'Signed out' : 'Still signed in', body), csp: csp("'none'") };
}
