-- wrk script: rotate through BENCH_QUERIES (one query a line), top 10 + one highlighted snippet each.
-- BENCH_ENGINE=kiji: GET /search. BENCH_ENGINE=groonga: Groonga /d/select over title||body, total +
-- top 10 by score + snippet_html(body), select cache bypassed (the server also runs cache_limit max=0).
-- Each wrk thread starts at a different offset so the threads do not ask the same query at once.
local queries = {}
local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
for line in io.lines(os.getenv("BENCH_QUERIES") or "queries.txt") do
  if #line > 0 then queries[#queries + 1] = urlencode(line) end
end
local nthreads = 0
function setup(thread)
  thread:set("tid", nthreads); nthreads = nthreads + 1
end
local counter = 0
function init(args)
  counter = (tid or 0) * 7
end
local path
if os.getenv("BENCH_ENGINE") == "groonga" then
  path = function(q)
    return "/d/select?table=Docs&match_columns=" .. urlencode("title||body") .. "&query=" .. q ..
      "&output_columns=" .. urlencode("_key,title,snippet_html(body)") ..
      "&limit=10&sort_keys=" .. urlencode("-_score") .. "&cache=no"
  end
else
  path = function(q) return "/search?q=" .. q .. "&limit=10&fragments=1" end
end
function request()
  counter = counter + 1
  return wrk.format("GET", path(queries[(counter % #queries) + 1]))
end
