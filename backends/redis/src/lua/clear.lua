-- delete_tokens: KEYS[1] the namespace prefix; ARGV[1] "drop" also removes the id counter (the
-- namespace is gone). Touches only keys this namespace recorded: never KEYS, never FLUSHDB.
local p = KEYS[1]
for _, id in ipairs(redis.call('SMEMBERS', p .. ':ids')) do
  redis.call('DEL', p .. ':t:' .. id)
end
for _, index in ipairs(redis.call('SMEMBERS', p .. ':indexes')) do
  redis.call('DEL', index)
end
redis.call('DEL', p .. ':ids', p .. ':indexes')
if ARGV[1] == 'drop' then
  redis.call('DEL', p .. ':seq', p .. ':ver')
else
  -- Never reset: a reader that saw version n before the clear must not see n again after it.
  redis.call('INCR', p .. ':ver')
end
return 1
