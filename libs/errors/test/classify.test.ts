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
    const err = new AppError('EVT_ERR_INVALID', 'y');
    expect(toAppError(err)).toBe(err);
  });
  it.each([
    [new Error('socket hang up'), 'APP_ERR_UNEXPECTED', true],
    ['a thrown string', 'APP_ERR_UNEXPECTED', true],
    [new TypeError('fetch failed'), 'APP_ERR_UNEXPECTED', true],
    [new TypeError("Cannot read properties of undefined (reading 'id')"), 'APP_ERR_PROGRAMMER', false],
    [new RangeError('Invalid array length'), 'APP_ERR_PROGRAMMER', false],
    [new ReferenceError('x is not defined'), 'APP_ERR_PROGRAMMER', false],
    [new SyntaxError('Invalid regular expression'), 'APP_ERR_PROGRAMMER', false],
  ])('when given %o, then it becomes %s (retriable: %s)', (thrown, code, retriable) => {
    expect(toAppError(thrown)).toMatchObject({ code, retriable });
  });
});
