-- candidates: the events of the deliveries in some sorted sets (a sparse status, one opportunity),
-- newest first, after a cursor and within a time range; read-only, one round trip.
-- ARGV: prefix, cursor received_at and seq ('' '' for the first page), from and to ('' for none; to is
-- exclusive), at most how many, then the sorted sets' keys. Returns {total, imember, received_at, …}:
-- total counts every event that qualified, so the caller knows when it got only the newest of them.
local c_at, c_seq = tonumber(ARGV[2]), tonumber(ARGV[3])
local low, high, most = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local seen, found = {}, {}
for k = 7, #ARGV do
  for _, m in ipairs(redis.call('ZRANGE', ARGV[k], 0, -1)) do
    local d = redis.call('HMGET', dkey(sid(m)), 'imember', 'received_at')
    local im = d[1]
    if im and not seen[im] then
      seen[im] = true
      local at, seq = tonumber(d[2]), tonumber(string.sub(im, 1, 16))
      if (not low or at >= low) and (not high or at < high)
          and (not c_at or at < c_at or (at == c_at and seq < c_seq)) then
        found[#found + 1] = {at, seq, im, d[2]}
      end
    end
  end
end
table.sort(found, function(a, b) if a[1] ~= b[1] then return a[1] > b[1] end return a[2] > b[2] end)
local out = {#found}
for i = 1, math.min(most, #found) do
  out[#out + 1] = found[i][3]
  out[#out + 1] = found[i][4]
end
return out
