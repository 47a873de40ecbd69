export { Md5PassThrough, hashFile, md5Buffer, md5File, type FileHash } from './md5.ts';
export {
  buildDirObject,
  dirObjectJson,
  sortDirEntries,
  type DirEntry,
  type DirObject,
} from './dir-object.ts';
export { hashDirectory, type DirHash, type HashDirectoryOptions } from './hash-directory.ts';
export { renderDvcFile, type DvcOut } from './dvc-file.ts';
export { dvcObjectKey, masterVersionKey, masterVersionName } from './layout.ts';
export {
  pushToRemote,
  writeToCache,
  type DvcSource,
  type PushOptions,
  type PushResult,
  type StagedEntry,
} from './push.ts';
