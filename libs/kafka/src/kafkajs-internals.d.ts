// kafkajs ships no types for its internal modules; request-queue.ts corrects one of them.
declare module 'kafkajs/src/network/requestQueue/index.js' {
  const RequestQueue: unknown;
  export default RequestQueue;
}
