import { script } from './client.ts';

/**
 * The Lua scripts that make each settle atomic. Every settle first checks the lease token the
 * delivery was handed out with (kept in the group's attempts hash, field `<id>:l`): a delivery whose
 * lease went to another consumer (XAUTOCLAIM) finds a new token there and changes nothing.
 *
 * Common layout: KEYS[1] stream, KEYS[2] attempts hash; ARGV[1] group, ARGV[2] entry id,
 * ARGV[3] message id, ARGV[4] lease token, ARGV[5] '1' to XDEL the entry (a group's private stream).
 */
const GUARD = `
if redis.call('HGET', KEYS[2], ARGV[3] .. ':l') ~= ARGV[4] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if ARGV[5] == '1' then redis.call('XDEL', KEYS[1], ARGV[2]) end
`;
const FORGET = `redis.call('HDEL', KEYS[2], ARGV[3] .. ':a', ARGV[3] .. ':t', ARGV[3] .. ':f', ARGV[3] .. ':l')`;

/**
 * Lua: counts an attempt and takes the lease of each id, with one read and one write of the attempts
 * hash for all of them (an id given twice is counted twice). Returns attempt, tries and first failure
 * (or '') of each id, in order.
 */
const BEGIN = `
local function begin(hash, token, ids)
  local fields = {}
  for _, id in ipairs(ids) do
    fields[#fields + 1] = id .. ':a'
    fields[#fields + 1] = id .. ':t'
    fields[#fields + 1] = id .. ':f'
  end
  local known = redis.call('HMGET', hash, unpack(fields))
  local attempts = {}
  local out = {}
  for i, id in ipairs(ids) do
    local at = (i - 1) * 3
    local attempt = (attempts[id] or tonumber(known[at + 1]) or 0) + 1
    attempts[id] = attempt
    out[#out + 1] = attempt
    out[#out + 1] = known[at + 2] or '0'
    out[#out + 1] = known[at + 3] or ''
  end
  local writes = {}
  for id, attempt in pairs(attempts) do
    writes[#writes + 1] = id .. ':a'
    writes[#writes + 1] = attempt
    writes[#writes + 1] = id .. ':l'
    writes[#writes + 1] = token
  end
  redis.call('HSET', hash, unpack(writes))
  return out
end
`;

/**
 * Counts an attempt and takes the lease of every entry of one read, before the handlers run: one
 * call per read, not per entry. KEYS[1] attempts; ARGV[1] lease token, ARGV[2..] message ids.
 */
export const begin = script(`${BEGIN}
return begin(KEYS[1], ARGV[1], { unpack(ARGV, 2) })
`);

/**
 * Acks a batch of entries, each only if its lease token is still the one it was handed out with:
 * XACK per stream (and XDEL on a group's own retry streams), its attempts forgotten. KEYS[1]
 * attempts, KEYS[2..] the streams; ARGV[1] group, then per entry five values: the index of its
 * stream in KEYS, entry id, message id, lease token, '1' to XDEL. Returns 1 (acked) or 0 (the lease
 * had gone to another consumer) per entry, in order.
 */
export const ackBatch = script(`
local count = (#ARGV - 1) / 5
local leases = {}
for i = 0, count - 1 do leases[i + 1] = ARGV[i * 5 + 4] .. ':l' end
local held = redis.call('HMGET', KEYS[1], unpack(leases))
local acks, deletes, forget, out = {}, {}, {}, {}
for i = 0, count - 1 do
  local at = i * 5 + 1
  if held[i + 1] == ARGV[at + 4] then
    local stream = tonumber(ARGV[at + 1])
    acks[stream] = acks[stream] or {}
    table.insert(acks[stream], ARGV[at + 2])
    if ARGV[at + 5] == '1' then
      deletes[stream] = deletes[stream] or {}
      table.insert(deletes[stream], ARGV[at + 2])
    end
    local id = ARGV[at + 3]
    forget[#forget + 1] = id .. ':a'
    forget[#forget + 1] = id .. ':t'
    forget[#forget + 1] = id .. ':f'
    forget[#forget + 1] = id .. ':l'
    out[i + 1] = 1
  else
    out[i + 1] = 0
  end
end
for stream, ids in pairs(acks) do redis.call('XACK', KEYS[stream], ARGV[1], unpack(ids)) end
for stream, ids in pairs(deletes) do redis.call('XDEL', KEYS[stream], unpack(ids)) end
if #forget > 0 then redis.call('HDEL', KEYS[1], unpack(forget)) end
return out
`);

/**
 * Nacks: acks the entry and copies the message into the group's retry stream (KEYS[3]) now, or into
 * its delayed set (KEYS[4]) scored by ARGV[8] when that is not empty. ARGV[6] tries, ARGV[7] failedAt,
 * ARGV[9] the fields as a JSON array, ARGV[10] a unique member suffix.
 */
export const nack = script(`${GUARD}
redis.call('HINCRBY', KEYS[2], ARGV[3] .. ':t', ARGV[6])
redis.call('HSETNX', KEYS[2], ARGV[3] .. ':f', ARGV[7])
redis.call('HDEL', KEYS[2], ARGV[3] .. ':l')
if ARGV[8] == '' then
  redis.call('XADD', KEYS[3], '*', unpack(cjson.decode(ARGV[9])))
else
  redis.call('ZADD', KEYS[4], ARGV[8], ARGV[10] .. ARGV[9])
end
return 1`);

/** Moves due delayed retries (KEYS[1]) into the retry stream (KEYS[2]); ARGV[1] now, ARGV[2] limit. */
export const moveDue = script(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  local json = string.sub(member, 37)
  redis.call('XADD', KEYS[2], '*', unpack(cjson.decode(json)))
  redis.call('ZREM', KEYS[1], member)
end
return #due`);

/** Extends the lease: XCLAIM JUSTID to the same consumer resets the idle time. ARGV[6] consumer. */
export const touch = script(`
if redis.call('HGET', KEYS[2], ARGV[3] .. ':l') ~= ARGV[4] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[6], 0, ARGV[2], 'JUSTID')
return 1`);

/** Gives an unsettled entry back to the group: idle for long, so the next XAUTOCLAIM takes it. */
export const release = script(`
if redis.call('HGET', KEYS[2], ARGV[3] .. ':l') ~= ARGV[4] then return 0 end
redis.call('HDEL', KEYS[2], ARGV[3] .. ':l')
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[6], 0, ARGV[2], 'IDLE', ARGV[7], 'JUSTID')
return 1`);

/**
 * Dead-letters: acks and stores the record. KEYS[3] records hash, KEYS[4] index, KEYS[5] group
 * index, KEYS[6] group set; ARGV[6] dead letter id, ARGV[7] record JSON, ARGV[8] time, ARGV[9] group.
 */
export const deadLetter = script(`${GUARD}${FORGET}
redis.call('HSET', KEYS[3], ARGV[6], ARGV[7])
redis.call('ZADD', KEYS[4], ARGV[8], ARGV[6])
redis.call('ZADD', KEYS[5], ARGV[8], ARGV[6])
redis.call('SADD', KEYS[6], ARGV[9])
return 1`);

/**
 * Replays a dead letter to its group only: into the group's retry stream (KEYS[5]; the group is
 * created there if missing), with its attempts forgotten (KEYS[6]). KEYS[1..3] records, index, group
 * index; ARGV[1] id, ARGV[2] group, ARGV[3] fields JSON, ARGV[4] message id.
 */
export const replay = script(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.pcall('XGROUP', 'CREATE', KEYS[4], ARGV[2], '0', 'MKSTREAM')
redis.call('XADD', KEYS[4], '*', unpack(cjson.decode(ARGV[3])))
redis.call('HDEL', KEYS[5], ARGV[4] .. ':a', ARGV[4] .. ':t', ARGV[4] .. ':f', ARGV[4] .. ':l')
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1`);

/**
 * Pub/Sub: stores a dead letter. KEYS[1] records hash, KEYS[2] index, KEYS[3] group index, KEYS[4]
 * group set; ARGV[1] id, ARGV[2] record JSON, ARGV[3] time, ARGV[4] group.
 */
export const storeDeadLetter = script(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[4])
return 1`);

/**
 * Pub/Sub: replays a dead letter by publishing it on its group's replay channel, and removes it only
 * when some consumer of the group heard it (-1 otherwise, and the dead letter stays). KEYS[1..3]
 * records, index, group index; ARGV[1] id, ARGV[2] replay channel, ARGV[3] the message's payload.
 */
export const publishReplay = script(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('PUBLISH', ARGV[2], ARGV[3]) == 0 then return -1 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1`);
