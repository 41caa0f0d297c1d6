"""The bare baseline: FastAPI, the same server, driver and pool, and nothing of ours in between.

``GET /docs/{id}`` returns a stored JSON document by primary key (the same size as our
unified view); ``POST /customers`` inserts the same ``customers`` row our service
would, in a database migrated with the customer service's own migrations. No auth,
no validation beyond JSON, no outbox, no idempotency, no metrics: that is the point.
Started by the bench with ``uvicorn bench.baseline_app:create_app --factory``, the way
``crm run`` starts the services.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime, timezone
from typing import Any

from fastapi import Body, FastAPI, HTTPException
from fastapi.responses import Response
from sqlalchemy import text

from shared.db import make_engine

JSON_TYPES = (dict, list)


def create_app() -> FastAPI:
    engine = make_engine(os.environ["BENCH_BASELINE_DATABASE_URL"])
    template: dict[str, Any] = json.loads(os.environ["BENCH_TEMPLATE_CUSTOMER"])
    tenant = os.environ.get("BENCH_TENANT", "bench")
    columns = list(template)
    json_columns = {c for c, v in template.items() if isinstance(v, JSON_TYPES)}
    insert = text(
        f"INSERT INTO customers ({', '.join(columns)}) VALUES ("
        + ", ".join(f"CAST(:{c} AS jsonb)" if c in json_columns else f":{c}" for c in columns)
        + ")"
    )
    read = text("SELECT doc::text FROM bench_docs WHERE id = :id")
    app = FastAPI(title="bench baseline")

    @app.get("/docs/{doc_id}")
    def get_doc(doc_id: uuid.UUID) -> Response:
        with engine.connect() as conn:
            doc = conn.execute(read, {"id": doc_id}).scalar()
        if doc is None:
            raise HTTPException(404)
        return Response(doc, media_type="application/json")

    @app.post("/customers", status_code=201)
    def create_customer(body: dict[str, Any] = Body(...)) -> Response:
        now = datetime.now(timezone.utc)
        row = dict(template)
        row.update({
            "id": uuid.uuid4(), "tenant_id": tenant, "kind": body.get("kind"),
            "given_name": body.get("given_name"), "family_name": body.get("family_name"),
            "display_name": f"{body.get('given_name')} {body.get('family_name')}",
            "emails": [{"address": e["address"], "primary": n == 0} for n, e in enumerate(body.get("emails", []))],
            "phones": [{"number": p["number"], "primary": n == 0} for n, p in enumerate(body.get("phones", []))],
            "country": body.get("country"), "region": body.get("region"),
            "version": 1, "created_at": now, "updated_at": now,
        })
        params = {c: json.dumps(row[c]) if c in json_columns else row[c] for c in columns}
        with engine.begin() as conn:
            conn.execute(insert, params)
        out = {k: (str(v) if isinstance(v, (uuid.UUID, datetime)) else v) for k, v in row.items()}
        return Response(json.dumps(out, separators=(",", ":")), status_code=201, media_type="application/json")

    return app
