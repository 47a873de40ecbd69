import { describe, expect, it } from 'vitest';
import { AppError, classifyPgError, pgToAppError, toAppError } from '../src/index.ts';

describe('classifyPgError', () => {
  it.each([
    [{ code: '23505' }, 'unique_violation', false],
    [{ code: '40001' }, 'serialization', true],
    [{ code: '40P01' }, 'serialization', true],
    [{ code: '23503' }, 'constraint', false],
    [{ code: '57P01' }, 'connection', true],
    [{ code: 'ECONNREFUSED' }, 'connection', true],
    [{ code: '42P01' }, 'other', false],
    [new Error('Connection terminated unexpectedly'), 'connection', true],
    [new Error('boom'), 'other', false],
  ])('when the error is %o, then it is %s (retriable: %s)', (err, kind, retriable) => {
    expect(classifyPgError(err)).toBe(kind);
    const appError = pgToAppError(err);
    expect(appError.retriable).toBe(retriable);
    expect(appError.code).toBe(`DB_ERR_${kind.toUpperCase()}`);
  });
});

describe('toAppError', () => {
  it('when given an AppError, then it is returned as is', () => {
    const err = new AppError('X_ERR_Y', 'y', { retriable: false });
    expect(toAppError(err)).toBe(err);
  });
  it('when given an unknown error, then it becomes a retriable AppError with the fallback code', () => {
    const err = toAppError(new Error('socket hang up'));
    expect(err).toMatchObject({ code: 'APP_ERR_UNEXPECTED', retriable: true, message: 'socket hang up' });
  });
});
