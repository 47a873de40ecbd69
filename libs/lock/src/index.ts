export { MasterLock, type MasterLockOptions } from './master-lock.ts';
export { compareAndSetVersion } from './fence.ts';
