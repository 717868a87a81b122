import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { AdminPolicyController } from './admin-policy.controller';
import { LoginThrottle } from './login-throttle.entity';
import { LoginThrottleService } from './login-throttle.service';
import { Policy } from './policy.entity';
import { PolicyService } from './policy.service';

@Module({
  imports: [TypeOrmModule.forFeature([Policy, LoginThrottle]), AuditModule],
  controllers: [AdminPolicyController],
  providers: [PolicyService, LoginThrottleService],
  exports: [PolicyService, LoginThrottleService],
})
export class PolicyModule {}
