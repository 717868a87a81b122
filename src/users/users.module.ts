import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { KeysModule } from '../keys/keys.module';
import { LOCKOUT_COUNTER, LockoutService } from '../policy/lockout.service';
import { PolicyModule } from '../policy/policy.module';
import { SessionsModule } from '../sessions/sessions.module';
import { TokensModule } from '../tokens/tokens.module';
import { AdminUsersController } from './admin-users.controller';
import { User } from './user.entity';
import { PasswordLoginService } from './password-login.service';
import { TotpService } from './totp.service';
import { UserSessionsService } from './user-sessions.service';
import { UsersService } from './users.service';

@Module({
  imports: [TypeOrmModule.forFeature([User]), AuditModule, KeysModule, PolicyModule, SessionsModule, TokensModule],
  controllers: [AdminUsersController],
  providers: [
    UsersService,
    // The Policy module's lockout, counting in this module's table: UsersService is its counter.
    { provide: LOCKOUT_COUNTER, useExisting: UsersService },
    LockoutService,
    PasswordLoginService,
    TotpService,
    UserSessionsService,
  ],
  exports: [UsersService, PasswordLoginService, UserSessionsService],
})
export class UsersModule {}
