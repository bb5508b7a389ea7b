-- index: put events stored before the console's indexes existed into them, a batch per call: ev:all,
-- ev:src, ev:out (events with no imember yet), ev:type, and dopp and imember for their deliveries.
-- ARGV: prefix, offset, batch. Returns {scanned, indexed}. Every step is idempotent, so an event
-- indexed meanwhile (by accept, or by another process doing the same) comes to no harm.
local names = redis.call('ZRANGE', P .. 'events', tonumber(ARGV[2]), tonumber(ARGV[2]) + tonumber(ARGV[3]) - 1,
                         'WITHSCORES')
local indexed = 0
for k = 1, #names, 2 do
  local name, received = names[k], names[k + 1]
  local ekey = P .. 'e:' .. name
  local ev = redis.call('HMGET', ekey, 'imember', 'source', 'outcome', 'deliveries', 'type')
  if ev[2] then
    local im = ev[1]
    if not im then
      im = index_event(ekey, received, ev[2], ev[3], ev[5], name)
      indexed = indexed + 1
    elseif ev[5] then
      redis.call('ZADD', P .. 'ev:type:' .. ev[5], received, im)
    end
    for id in string.gmatch(ev[4] or '', '[^,]+') do
      local d = redis.call('HMGET', dkey(id), 'target_key', 'opportunity_id')
      if d[1] then redis.call('HSET', dkey(id), 'imember', im) end
      index_target(id, d[1])
      if d[2] then index_target(id, 'id:' .. d[2]) end
    end
  end
end
return {#names / 2, indexed}
