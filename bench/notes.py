"""What the profiles say about each figure below target: included in latest.md when that figure misses.

Written from py-spy profiles (``--gil``: only the thread holding the GIL) taken while
writing the bench, on the 2-core development machine shared with other work;
``crm bench <scenario> --profile`` records the customer service again and adds a
summary of that run's own profile. The shares quoted here are from those profiling
sessions, not from the run above.
"""

NOTES: dict[str, str] = {
    "read-throughput": """### unified-view read throughput (below 60% of the bare app)

Profile (customer service, saturated `GET .../view`): the service is CPU-bound in one
Python process; the time is spread over the request machinery rather than one hot spot.
Starlette's `BaseHTTPMiddleware` (our request-metrics middleware) was on the stack of about
a third of the samples: **fixed** in `shared/service.py` (plain ASGI middleware; in-process
A/B on a trivial route ~310 us -> ~115 us CPU per request). What remains, and the bare app
does not pay: dependency solving with JWT verification on every request, the idempotency
guard that reads the body and hashes it even for GETs (`shared/http.py`), an ORM session
and entity load (`repository/view.py`, ~20-26% of samples) and the pydantic response
model. Both apps pay uvicorn's pure-Python h11 parser (~15%). Next steps, outside the
bench's files: skip the idempotency guard for non-POST requests; a Core query for the view
row; `uvicorn[standard]` (httptools, uvloop) would speed up both sides.""",
    "read-latency": """### unified-view p99 at 1,000 req/s

One uvicorn process per service (as `crm run` starts them) cannot take 1,000 req/s of view
reads on this 2-core machine: the "held" figure shows the rate it really sustained. Offered
load above capacity means requests queue, so p99 is queueing time, not the cost of a read.
The bare app does not hold 1,000 req/s here either. The limit is CPU per request (see the
throughput note) times one process; the architecture scales reads by running replicas of
the customer service, which needs more cores than this machine has.""",
    "read-scaling": """### view read scaling

The primary-key lookup itself grows by one B-tree level between 10k and 1M rows. At a
fixed 1,000 req/s, p99 is dominated by queueing in the saturated Python process (see the
note above), so it swings with whatever else the machine does during that run.""",
    "write-throughput": """### customer create throughput

The bare app does one INSERT per request. Ours, per request: pydantic validation (e-mail,
E.164 phone, country), the customer row and its `crm.customer.created.v1` outbox row
flushed and committed, the ETag/consistency headers; and in the same process, competing for
the GIL, the outbox relay publishing it and the view consumer applying it (view row,
timeline entry, KPI recomputation and a second outbox event for the view topic), which the
three replica services then consume too. 1,000 writes/s is above what one Python process
does on this machine; on a machine shared with other work both figures drop further.""",
    "relay": """### outbox relay

The baseline shows kafka-python's own cost: its pure-Python producer spends the CPU shown
per message (idempotent, acks=all), which caps one process at a few thousand events/s on
this machine, below the 5,000/s target, before any relay work. The relay adds, per batch
of 500: an ORM load of the rows (`SELECT ... FOR UPDATE`), a pydantic `CloudEvent` built
and dumped per row, waiting for every acknowledgement, and the `UPDATE ... published_at`
commit. Next steps (shared/outbox.py, not changed here): select plain columns instead of
ORM entities and serialise the envelope without building a model per row; reaching
5,000/s needs a librdkafka-based producer (confluent-kafka).""",
    "convergence": """### write-to-view convergence

When the customer service cannot accept 500 writes/s (see "writes/s held"), writes queue
and the view consumer, in the same process, falls behind: each event is its own
transaction (view row, timeline, KPI recomputation, outbox row for the view topic), then
the relay publishes the view. The raw Kafka round trip in the same run shows the broker is
not the limit. Next steps (outside the bench): apply view events in batches per
transaction, run the view builder in its own process.""",
    "import": """### bulk import

Profiled `crm import` of 5,000 rows: the command's start-up (importing the service's
modules) was most of the samples at that size; per row the time goes to validation with
the same rules as `POST /v1/customers` (`BulkImporter.add`) and to the ORM writes of
customers, search keys and one outbox event each (`BulkImporter._write`). COPY writes only
the rows. Reaching 25% of COPY needs the writes done as COPY/multi-row inserts of
pre-built rows (services/customer/bulk.py).""",
    "replay": """### view rebuild from Kafka

`crm replay view` runs the live view handler for every event (view row, timeline entry,
KPI recomputation, group roll-ups, an outbox row for the view topic) in transactions of
500 events; the raw consumer only reads bytes. The number of events is kept small so that
the run stays in its time budget; 1M events at the measured rate would take far longer
than the 20 minutes `make bench` may take. Next steps: a replay mode that skips appending
view-topic outbox rows and recomputes each customer's KPIs once per batch.""",
    "search": """### customer search

A filter kind above 100 ms at p99: the query plan is the first suspect. Name prefix and
exact keys use B-tree indexes (`name_search`, `customer_keys`); `name_contains` uses the
pg_trgm GIN index where the extension could be created (without it, a contains search
scans). `EXPLAIN ANALYZE` the statement the route logs at debug level.""",
    "memory": """### memory

A service above its RSS target: see the table; not observed while writing the bench.""",
}
