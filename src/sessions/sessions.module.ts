import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TokenFamiliesService } from './token-families.service';
import { TokenFamily } from './token-family.entity';

/**
 * Login sessions. Today these are the token families of SPEC §3.5 (one per login of a user at a
 * client); browser single sign-on sessions (SPEC §5) belong beside them, with their own table and
 * service, so that ending a user's sessions ends both.
 */
@Module({
  imports: [TypeOrmModule.forFeature([TokenFamily])],
  providers: [TokenFamiliesService],
  exports: [TokenFamiliesService],
})
export class SessionsModule {}
