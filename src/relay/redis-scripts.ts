/*
 * The Lua scripts of the Redis store (redis-store.ts). Each runs atomically in Redis, so a quota
 * check and the write it allows cannot interleave with another relay process's. Key layout, for
 * a queue whose recipient id is R (hex) and sender id S (hex), under the prefix P:
 *
 *   P q:R   hash  sid, rk (recipient key), dk (delivery key), bytes
 *   P s:S   string R
 *   P m:R   list of message ids (hex), oldest first
 *   P b:R   hash message id → body (as sealed for the recipient)
 *   P t:R   hash message id → ts (ms)
 *   P n:R   pub/sub channel: 'p' (a message arrived), 't:<process>' (a process took the queue over)
 *   P active  sorted set R → last use by the recipient (ms)
 *   P pending set of R holding messages (what the sweep visits)
 *   P stats   hash queues, bytes
 *   P identity  the relay's key pair (msgpack)
 *
 * The delete script finds the sender index's key from the queue's hash, and every script touches
 * the shared `stats`: the store needs one Redis (or Valkey) primary, not a cluster.
 */

/** Drops expired messages at the head of a queue; shared by PUSH, PEEK and EXPIRE. Sets `freed` and `count`. */
const DROP_EXPIRED = `
local freed, count = 0, 0
while true do
  local head = redis.call('LINDEX', KEYS[2], 0)
  if not head then break end
  local ts = tonumber(redis.call('HGET', KEYS[4], head))
  if ts and ts > cutoff then break end
  freed = freed + redis.call('HSTRLEN', KEYS[3], head)
  count = count + 1
  redis.call('LPOP', KEYS[2])
  redis.call('HDEL', KEYS[3], head)
  redis.call('HDEL', KEYS[4], head)
end
if freed > 0 then
  redis.call('HINCRBY', KEYS[1], 'bytes', -freed)
  redis.call('HINCRBY', KEYS[5], 'bytes', -freed)
end
`;

export const REDIS_SCRIPTS = {
  /**
   * KEYS q, s, stats, active · ARGV R, S, rk, dk, now, maxQueues.
   * Returns 1 created, 0 the relay holds maxQueues, -1 an id is taken.
   */
  create: `
if tonumber(redis.call('HGET', KEYS[3], 'queues') or '0') >= tonumber(ARGV[6]) then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
redis.call('HSET', KEYS[1], 'sid', ARGV[2], 'rk', ARGV[3], 'dk', ARGV[4], 'bytes', 0)
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'queues', 1)
return 1`,
  /**
   * KEYS q, m, b, t, stats, pending · ARGV msgId, body, ts, maxMessages, maxBytesPerQueue,
   * maxStoredBytes, expiredBefore, channel, R. Returns {result, bytes in all queues}: 1 stored,
   * -1 no queue, -2 queue full, -3 relay full.
   */
  push: `
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, tonumber(redis.call('HGET', KEYS[5], 'bytes') or '0')} end
local cutoff = tonumber(ARGV[7])
${DROP_EXPIRED}
local total = tonumber(redis.call('HGET', KEYS[5], 'bytes') or '0')
local size = string.len(ARGV[2])
if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[4]) or tonumber(redis.call('HGET', KEYS[1], 'bytes')) + size > tonumber(ARGV[5]) then
  return {-2, total}
end
if total + size > tonumber(ARGV[6]) then return {-3, total} end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[1], 'bytes', size)
redis.call('SADD', KEYS[6], ARGV[9])
total = redis.call('HINCRBY', KEYS[5], 'bytes', size)
redis.call('PUBLISH', ARGV[8], 'p')
return {1, total}`,
  /** KEYS q, m, b, t, stats · ARGV msgId. Returns {1 removed or 0 absent, bytes in all queues}. */
  remove: `
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then return {0, tonumber(redis.call('HGET', KEYS[5], 'bytes') or '0')} end
local size = redis.call('HSTRLEN', KEYS[3], ARGV[1])
redis.call('LREM', KEYS[2], 1, ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'bytes', -size)
return {1, redis.call('HINCRBY', KEYS[5], 'bytes', -size)}`,
  /**
   * KEYS q, m, b, t, stats · ARGV count, expiredBefore. Drops the expired messages at the head
   * first: left there, they would fill the window and hold back fresh ones until the sweep.
   * Returns a flat list: id, body, ts, id, body, ts, … oldest first.
   */
  peek: `
local cutoff = tonumber(ARGV[2])
${DROP_EXPIRED}
local out = {}
for _, id in ipairs(redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[3], id) or ''
  out[#out + 1] = redis.call('HGET', KEYS[4], id) or '0'
end
return out`,
  /** KEYS q, m, b, t, stats, active, pending · ARGV sender-key prefix, R. Returns 1 deleted, 0 absent. */
  delete: `
local sid = redis.call('HGET', KEYS[1], 'sid')
if not sid then return 0 end
local bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1] .. sid)
redis.call('ZREM', KEYS[6], ARGV[2])
redis.call('SREM', KEYS[7], ARGV[2])
redis.call('HINCRBY', KEYS[5], 'queues', -1)
redis.call('HINCRBY', KEYS[5], 'bytes', -bytes)
return 1`,
  /** KEYS q, m, b, t, stats, pending · ARGV expiredBefore, R. Returns how many messages expired. */
  expire: `
local cutoff = tonumber(ARGV[1])
${DROP_EXPIRED}
if redis.call('LLEN', KEYS[2]) == 0 then redis.call('SREM', KEYS[6], ARGV[2]) end
return count`,
} as const;

/** The name of one of {@link REDIS_SCRIPTS}. */
export type RedisScript = keyof typeof REDIS_SCRIPTS;
