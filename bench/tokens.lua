-- wrk script: one token per request, read from a file (one per line) and
-- used round-robin. Each wrk thread starts at its own offset, so with
-- N threads the file is split in N runs.
--   TOKENS_FILE   the token file (required)
--   TOKEN_HEADER  header name (default Authorization)
--   TOKEN_PREFIX  value prefix (default "Bearer ")
--   EXTRA_HEADER / EXTRA_VALUE  one more fixed header (optional)
--   WRK_THREADS   the -t value (default 1)

local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
end

function init(args)
   local path = os.getenv("TOKENS_FILE")
   header = os.getenv("TOKEN_HEADER") or "Authorization"
   prefix = os.getenv("TOKEN_PREFIX") or "Bearer "
   extra_header = os.getenv("EXTRA_HEADER")
   extra_value = os.getenv("EXTRA_VALUE")
   tokens = {}
   for line in io.lines(path) do
      if #line > 0 then tokens[#tokens + 1] = line end
   end
   local threads = tonumber(os.getenv("WRK_THREADS") or "1")
   index = math.floor((id or 0) * #tokens / threads)
   headers = {}
   if extra_header then headers[extra_header] = extra_value end
end

function request()
   index = index + 1
   if index > #tokens then index = 1 end
   headers[header] = prefix .. tokens[index]
   return wrk.format("GET", nil, headers)
end
