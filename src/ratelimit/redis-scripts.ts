/**
 * The Lua scripts of the Redis limiter. Each runs atomically inside Redis, so check-and-count is one
 * step for every replica. Time comes from the Redis server (`TIME`), so replicas' clock skew is
 * irrelevant. Logs are sorted sets scored by time in ms; weighted (token) logs keep their sum in a
 * companion key and encode each entry's weight at the end of its member (`<id>:<weight>`).
 */

// Shared prologue: the clock and the helpers that expire a log and say when it frees up.
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
local cutoff = now - window

local function counted(key)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
  return redis.call('ZCARD', key)
end

local function countedFree(key, count, limit)
  if count == 0 then return 0 end
  local idx = count - limit
  if idx < 0 then idx = 0 end
  local e = redis.call('ZRANGE', key, idx, idx, 'WITHSCORES')
  return math.max(0, tonumber(e[2]) + window - now)
end

local function weightOf(member)
  return tonumber(string.match(member, ':(%d+)$')) or 0
end

local function weighted(key, sumKey)
  local old = redis.call('ZRANGEBYSCORE', key, '-inf', cutoff)
  local total = tonumber(redis.call('GET', sumKey) or '0')
  if #old > 0 then
    local gone = 0
    for _, m in ipairs(old) do gone = gone + weightOf(m) end
    redis.call('ZREMRANGEBYSCORE', key, '-inf', cutoff)
    total = total - gone
    if total <= 0 or redis.call('ZCARD', key) == 0 then
      total = 0
      redis.call('DEL', sumKey)
    else
      redis.call('DECRBY', sumKey, gone)
    end
  end
  return total
end

local function weightedFree(key, total, limit)
  if total <= 0 then return 0 end
  local entries = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
  local at = tonumber(entries[2])
  if total >= limit then
    local rest = total
    for i = 1, #entries - 2, 2 do
      local w = weightOf(entries[i])
      if rest - w < limit then break end
      rest = rest - w
      at = tonumber(entries[i + 3])
    end
  end
  return math.max(0, at + window - now)
end
`;

/**
 * KEYS: request log, token log, token sum. ARGV: limit, windowMs, member, tokenLimit (0 = none).
 * Returns {allowed, refusedBy, count, countFreeMs, tokens, tokensFreeMs}.
 */
export const ADMIT_SCRIPT = `${PRELUDE}
local limit = tonumber(ARGV[1])
local tokenLimit = tonumber(ARGV[4])
local count = counted(KEYS[1])
local tokens = 0
local refused = ''
if tokenLimit > 0 then
  tokens = weighted(KEYS[2], KEYS[3])
  if tokens >= tokenLimit then refused = 'tokens' end
end
if refused == '' and count >= limit then refused = 'requests' end
if refused == '' then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  count = count + 1
end
local tokensFree = 0
if tokenLimit > 0 then tokensFree = weightedFree(KEYS[2], tokens, tokenLimit) end
return {refused == '' and 1 or 0, refused, count, math.ceil(countedFree(KEYS[1], count, limit)), tokens, math.ceil(tokensFree)}
`;

/** KEYS: a counted log. ARGV: limit, windowMs, member. Adds one entry; returns {count, freeMs}. */
export const HIT_SCRIPT = `${PRELUDE}
local limit = tonumber(ARGV[1])
counted(KEYS[1])
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
local count = redis.call('ZCARD', KEYS[1])
return {count, math.ceil(countedFree(KEYS[1], count, limit))}
`;

/**
 * KEYS: a weighted log and its sum. ARGV: limit, windowMs, member (ending in `:<weight>`), weight.
 * Returns {total, freeMs}.
 */
export const ADD_TOKENS_SCRIPT = `${PRELUDE}
local limit = tonumber(ARGV[1])
weighted(KEYS[1], KEYS[2])
redis.call('ZADD', KEYS[1], now, ARGV[3])
local total = redis.call('INCRBY', KEYS[2], tonumber(ARGV[4]))
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], window)
return {total, math.ceil(weightedFree(KEYS[1], total, limit))}
`;
