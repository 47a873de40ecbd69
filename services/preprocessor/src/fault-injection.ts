import type { FaultPoint } from './config.ts';

/**
 * Test-only crash points of a merge (FAULT_INJECT, off by default). This is the one place the
 * setting is read: at the named point the process kills itself with SIGKILL, as a power cut would,
 * so tests can prove a crash before or after the commit leaves each batch merged exactly once.
 */
export function faultInjector(setting: FaultPoint): (point: Exclude<FaultPoint, 'none'>) => void {
  if (setting === 'none') return () => undefined;
  return (point) => {
    if (point === setting) process.kill(process.pid, 'SIGKILL');
  };
}
