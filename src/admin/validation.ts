import { BadRequestException, ValidationError, ValidationPipe } from '@nestjs/common';
import { ValidateIf } from 'class-validator';

export type FieldErrors = Record<string, string[]>;

/** The admin API's 400 body: every bad field named with its messages. */
export function validationFailed(fields: FieldErrors): BadRequestException {
  return new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'Validation failed', fields });
}

function collect(errors: ValidationError[], prefix = '', into: FieldErrors = {}): FieldErrors {
  for (const error of errors) {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    if (error.constraints) into[path] = Object.values(error.constraints);
    if (error.children?.length) collect(error.children, path, into);
  }
  return into;
}

/** Strict DTO validation: unknown fields are refused, types are converted only where the DTO says so. */
export function adminValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => validationFailed(collect(errors)),
  });
}

/**
 * The field may be left out, but `null` is validated like any other value, and so refused. Fields
 * that may be cleared use IsOptional (which lets null through) and treat null as "remove".
 */
export const IsOmittable = (): PropertyDecorator => ValidateIf((_object, value) => value !== undefined);
