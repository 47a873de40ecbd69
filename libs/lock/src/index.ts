export { MasterLock, type MasterLockOptions } from './master-lock.ts';
export { compareAndSetVersion } from './fence.ts';
export { createRedis, redisAddress, verifyRedis, type RedisClientOptions } from './redis.ts';
