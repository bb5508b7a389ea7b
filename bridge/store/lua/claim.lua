-- claim: lease up to `limit` due deliveries, at most one per target (opportunity), none for a held one.
-- ARGV: prefix, token, now, lease_until, limit, max_scan, hold_seconds. Returns {{id, {field, value, ...}}, ...}.
-- A target is not free while its delivery is leased or its lease ended less than hold_seconds ago
-- (the worker may have died mid-request), nor while <P>hold says it is held (an unknown outcome).
-- The claimed ids are kept under claim:<token> for a few minutes, so a retried call (redis-py
-- resending after a lost reply) returns the same deliveries instead of finding them taken.
local token, now, lease_until = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local limit, max_scan, hold = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local ckey = P .. 'claim:' .. token
local function rows(ids)
  local out = {}
  for _, id in ipairs(ids) do out[#out + 1] = {id, redis.call('HGETALL', dkey(id))} end
  return out
end
local prior = redis.call('GET', ckey)
if prior then
  local ids = {}
  for id in string.gmatch(prior, '[^,]+') do ids[#ids + 1] = id end
  return rows(ids)
end
local function in_flight(holder)
  local h = redis.call('HMGET', dkey(holder), 'status', 'next_attempt_at')
  return h[1] == 'delivering' and tonumber(h[2]) + hold > now
end
local function held(target)
  local held_until = redis.call('HGET', P .. 'hold', target)
  return held_until and tonumber(held_until) > now
end
-- Read first, write after: writing moves members out of the range being paged through.
local chosen, seen, offset = {}, {}, 0
while #chosen < limit and offset < max_scan do
  local batch = redis.call('ZRANGEBYSCORE', P .. 'due', '-inf', ARGV[3], 'LIMIT', offset, 100)
  if #batch == 0 then break end
  for _, m in ipairs(batch) do
    local id = sid(m)
    local d = redis.call('HMGET', dkey(id), 'status', 'target_key')
    local status, target = d[1], d[2]
    if (status == 'queued' or status == 'retrying' or status == 'delivering') and not seen[target] then
      seen[target] = true
      local holder = redis.call('HGET', P .. 'flight', target)
      if (not holder or not in_flight(holder)) and not held(target) then
        chosen[#chosen + 1] = {id, status, target}
        if #chosen >= limit then break end
      end
    end
  end
  offset = offset + #batch
end
local ids = {}
for _, c in ipairs(chosen) do
  local id, status, target = c[1], c[2], c[3]
  redis.call('HINCRBY', dkey(id), 'attempts', 1)
  redis.call('HSET', dkey(id), 'status', 'delivering', 'next_attempt_at', lease_until, 'lease_token', token,
             'updated_at', ARGV[3])
  redis.call('HDEL', dkey(id), 'finish_token')
  redis.call('ZADD', P .. 'due', lease_until, member(id))
  move_status(id, status, 'delivering')
  redis.call('HSET', P .. 'flight', target, id)
  ids[#ids + 1] = id
end
if #ids > 0 then redis.call('SET', ckey, table.concat(ids, ','), 'EX', 300) end
return rows(ids)
