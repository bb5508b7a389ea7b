-- purge: one batch of one retention phase. ARGV: prefix, cutoff, include dead (0/1), batch, offset, phase.
--   deliveries: finished deliveries (and dead ones if asked) finished before the cutoff
--   events:     events received before the cutoff that have no delivery left (the dedupe keys)
--   fields:     stale-guard field times not raised since the cutoff (and opportunity holds that ended)
-- Returns {removed, scanned, kept}: the caller repeats a phase while a full batch was scanned.
local cutoff, batch, offset, phase = '(' .. ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local function drop(set)
  local members = redis.call('ZRANGEBYSCORE', P .. set, '-inf', cutoff, 'LIMIT', 0, batch)
  for _, m in ipairs(members) do
    local id = sid(m)
    local cur = redis.call('HMGET', dkey(id), 'status', 'target_key', 'opportunity_id')
    redis.call('DEL', dkey(id), P .. 'att:' .. id)
    if cur[2] then redis.call('ZREM', P .. 'dopp:' .. cur[2], m) end
    if cur[3] then redis.call('ZREM', P .. 'dopp:id:' .. cur[3], m) end
    redis.call('ZREM', P .. set, m)
    redis.call('ZREM', P .. 'all', m)
    redis.call('ZREM', P .. 'due', m)
    if cur[1] then move_status(id, cur[1], nil) end
    if cur[2] then release_flight(id, cur[2]) end
  end
  return #members
end
if phase == 'deliveries' then
  local done = drop('done')
  local dead = 0
  if ARGV[3] == '1' then dead = drop('dead') end
  return {done + dead, math.max(done, dead), 0}
end
if phase == 'events' then
  local removed, kept = 0, 0
  local events = redis.call('ZRANGEBYSCORE', P .. 'events', '-inf', cutoff, 'LIMIT', offset, batch)
  for _, name in ipairs(events) do
    local ekey = P .. 'e:' .. name
    local live = false
    for id in string.gmatch(redis.call('HGET', ekey, 'deliveries') or '', '[^,]+') do
      if redis.call('EXISTS', dkey(id)) == 1 then live = true break end
    end
    if live then
      kept = kept + 1
    else
      local ev = redis.call('HMGET', ekey, 'imember', 'source', 'outcome', 'type')
      if ev[1] then
        redis.call('ZREM', P .. 'ev:all', ev[1])
        redis.call('ZREM', P .. 'ev:src:' .. ev[2], ev[1])
        redis.call('ZREM', P .. 'ev:out:' .. ev[3], ev[1])
        if ev[4] then redis.call('ZREM', P .. 'ev:type:' .. ev[4], ev[1]) end
      end
      redis.call('DEL', ekey)
      redis.call('ZREM', P .. 'events', name)
      removed = removed + 1
    end
  end
  return {removed, #events, kept}
end
if offset == 0 then  -- holds that ended (one per opportunity with a recent unknown outcome, so few)
  local holds = redis.call('HGETALL', P .. 'hold')
  for k = 1, #holds, 2 do
    if tonumber(holds[k + 1]) < tonumber(ARGV[2]) then redis.call('HDEL', P .. 'hold', holds[k]) end
  end
end
local opportunities = redis.call('ZRANGEBYSCORE', P .. 'ftouch', '-inf', cutoff, 'LIMIT', 0, batch)
for _, opportunity in ipairs(opportunities) do
  redis.call('DEL', P .. 'f:' .. opportunity)
  redis.call('ZREM', P .. 'ftouch', opportunity)
end
return {0, #opportunities, 0}
