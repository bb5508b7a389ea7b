-- rebuild: one stored event rendered again with the current mappings, in one atomic step.
-- A route the event has no delivery for is inserted; a delivery that died before it had a target
-- (dead with target_key 'unresolved': a mapping failure) is replaced, attempts 0, due now, what it
-- was appended to its history; any other delivery is left alone. An ignored event that now has a
-- delivery becomes accepted.
-- KEYS[1] the event hash. ARGV: prefix, now, then 6 strings per delivery:
--   route, status, target, target_key, attributes, last_error ('' = none).
-- Returns how many deliveries were inserted or replaced (0 when the event is not stored).
local ekey, now = KEYS[1], ARGV[2]
local ev = redis.call('HMGET', ekey, 'source', 'event_id', 'occurred_at', 'received_at', 'outcome', 'deliveries',
                     'imember')
if not ev[1] then return 0 end
local ids, by_route, live = {}, {}, 0
for id in string.gmatch(ev[6] or '', '[^,]+') do
  ids[#ids + 1] = id
  local route = redis.call('HGET', dkey(id), 'route')
  if route then
    by_route[route] = id
    live = live + 1
  end
end

local function queue(id, status)
  local m = member(id)
  if status == 'dead' then
    redis.call('ZADD', P .. 'dead', now, m)
  else
    redis.call('ZREM', P .. 'dead', m)
    redis.call('ZADD', P .. 'due', now, m)
  end
end

local function insert(route, status, target, tkey, attributes, err)
  local id = sid(redis.call('INCR', P .. 'seq'))
  local fields = {'source', ev[1], 'event_id', ev[2], 'route', route, 'target', target, 'target_key', tkey,
                  'attributes', attributes, 'status', status, 'attempts', '0', 'next_attempt_at', now,
                  'received_at', ev[4], 'updated_at', now}
  if ev[3] then fields[#fields + 1] = 'occurred_at'; fields[#fields + 1] = ev[3] end
  if ev[7] then fields[#fields + 1] = 'imember'; fields[#fields + 1] = ev[7] end
  if err ~= '' then fields[#fields + 1] = 'last_error'; fields[#fields + 1] = err end
  redis.call('HSET', dkey(id), unpack(fields))
  index_target(id, tkey)
  redis.call('ZADD', P .. 'all', tonumber(id), member(id))
  move_status(id, nil, status)
  queue(id, status)
  ids[#ids + 1] = id
  live = live + 1
  return id
end

local function replace(id, cur, status, target, tkey, attributes, err)
  local entry = '{"replayed_at": ' .. now .. ', "status": "' .. cur[1] .. '", "attempts": ' .. (cur[2] or '0') ..
                ', "last_error": ' .. (cur[3] or 'null') .. ', "rebuilt": true}'
  local history = '[' .. entry .. ']'
  if cur[4] and cur[4] ~= '[]' then history = string.sub(cur[4], 1, -2) .. ', ' .. entry .. ']' end
  local d = dkey(id)
  redis.call('HSET', d, 'target', target, 'target_key', tkey, 'attributes', attributes, 'status', status,
             'attempts', '0', 'next_attempt_at', now, 'updated_at', now, 'history', history)
  redis.call('HDEL', d, 'lease_token', 'finish_token')
  if err ~= '' then redis.call('HSET', d, 'last_error', err) else redis.call('HDEL', d, 'last_error') end
  move_status(id, cur[1], status)
  index_target(id, tkey)
  queue(id, status)
end

local changed, done = 0, {}
for i = 3, #ARGV, 6 do
  local route, status, target, tkey, attributes, err =
    ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local id = by_route[route]
  if done[route] then
    -- a route given twice: the first one counts
  elseif not id then
    by_route[route] = insert(route, status, target, tkey, attributes, err)
    changed = changed + 1
  else
    local cur = redis.call('HMGET', dkey(id), 'status', 'attempts', 'last_error', 'history', 'target_key')
    if cur[1] == 'dead' and cur[5] == 'unresolved' then
      replace(id, cur, status, target, tkey, attributes, err)
      changed = changed + 1
    end
  end
  done[route] = true
end
redis.call('HSET', ekey, 'deliveries', table.concat(ids, ','))
if ev[5] == 'ignored' and live > 0 then
  redis.call('HSET', ekey, 'outcome', 'accepted')
  redis.call('HDEL', ekey, 'reason')
  if ev[7] then
    redis.call('ZREM', P .. 'ev:out:ignored', ev[7])
    redis.call('ZADD', P .. 'ev:out:accepted', ev[4], ev[7])
  end
end
return changed
