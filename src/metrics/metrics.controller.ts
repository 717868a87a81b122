import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MetricsService } from './metrics.service';

@ApiTags('Health')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiOkResponse({
    description:
      'gatehouse_http_requests_total, gatehouse_http_request_duration_seconds, Node.js process metrics; ' +
      'with CLUSTER_WORKERS > 1, those of every worker, each series labelled `worker`',
  })
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
