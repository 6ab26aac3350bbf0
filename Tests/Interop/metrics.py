"""Parses CityGate's /metrics with prometheus_client's own text parser (strict: it raises on any
malformed line) and answers the families, their types and samples as JSON."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

command = json.load(sys.stdin)
families = {}
for family in text_string_to_metric_families(command["text"]):
    families[family.name] = {
        "type": family.type,
        "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples],
    }
print(json.dumps({"families": families}))
