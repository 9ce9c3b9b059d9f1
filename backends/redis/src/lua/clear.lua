-- delete_tokens: KEYS[1] the namespace prefix; ARGV[1] "drop" also removes the id counter (the
-- namespace is gone). Touches only keys this namespace recorded: never KEYS, never FLUSHDB.
local p = KEYS[1]
for _, id in ipairs(redis.call('SMEMBERS', p .. ':ids')) do
  redis.call('DEL', p .. ':t:' .. id)
end
for _, index in ipairs(redis.call('SMEMBERS', p .. ':indexes')) do
  redis.call('DEL', index)
end
redis.call('DEL', p .. ':ids', p .. ':indexes', p .. ':all')
if ARGV[1] == 'drop' then
  -- :ver is the version key of earlier releases' get_tokens, gone with the namespace too.
  redis.call('DEL', p .. ':seq', p .. ':ver')
end
return 1
