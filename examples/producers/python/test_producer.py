"""Covers examples/producers/python/producer.py against the local stack's SQS (moto), through the
project venv: per-camera packing with 10 messages per SendMessageBatch, the linger (nothing sent
before it, everything after), full messages sent early, failed entries retried with the same
single-camera body (a botocore before-call hook on the real client fails them), and bad events
refused naming the field. Run by test/integration/python-producer.test.ts with AWS_ENDPOINT_URL set."""
import json
import os
import time
import unittest
import uuid
from types import SimpleNamespace

import boto3

from producer import MetricProducer

ENDPOINT = os.environ["AWS_ENDPOINT_URL"]


def event(camera: str, k: int, metric: str = "DriftScore") -> dict:
    return {"id": str(uuid.uuid4()), "timestamp": f"2026-01-05T00:{k // 60:02d}:{k % 60:02d}Z", "camera_id": camera,
            "modality": "Rgb", "metric": metric, "value": 0.5}


class ProducerTest(unittest.TestCase):
    def setUp(self):
        self.sqs = boto3.client("sqs")
        self.plain = boto3.client("sqs")  # no hook: what the hook itself sends
        self.queue_url = self.sqs.create_queue(QueueName=f"py-{uuid.uuid4().hex[:12]}")["QueueUrl"]
        self.calls = []
        self.sqs.meta.events.register("before-parameter-build.sqs.SendMessageBatch", self._record)
        self.sqs.meta.events.register("before-call.sqs.SendMessageBatch", self._inject)
        self.fail_first_call = set()
        self.entries = []

    def _record(self, params, **_):
        self.entries = params["Entries"]
        self.calls.append([e["MessageBody"] for e in self.entries])

    def _inject(self, **_):
        entries = self.entries
        if len(self.calls) == 1 and self.fail_first_call:
            ok = [e for i, e in enumerate(entries) if i not in self.fail_first_call]
            sent = self.plain.send_message_batch(QueueUrl=self.queue_url, Entries=ok) if ok else {}
            failed = [{"Id": e["Id"], "Code": "InternalError", "Message": "injected", "SenderFault": False}
                      for i, e in enumerate(entries) if i in self.fail_first_call]
            return (SimpleNamespace(status_code=200, headers={}), {"Successful": sent.get("Successful", []), "Failed": failed})
        return None

    def received(self) -> list[list[dict]]:
        out = []
        while True:
            r = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            if not r.get("Messages"):
                return out
            for m in r["Messages"]:
                out.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def test_packs_per_camera_ten_messages_per_batch(self):
        p = MetricProducer(self.queue_url, sqs=self.sqs, linger_s=30)
        for k in range(6):
            for c in range(12):
                p.publish(event(f"cam-{c}", k))
        self.assertEqual(self.calls, [])  # held for the linger
        p.close()
        self.assertEqual([len(c) for c in self.calls], [10, 2])
        messages = self.received()
        self.assertEqual(len(messages), 12)
        for m in messages:
            self.assertEqual(len({e["camera_id"] for e in m}), 1)
            self.assertEqual(len(m), 6)
        self.assertEqual(p.sent, 72)

    def test_sends_when_the_linger_runs_out(self):
        p = MetricProducer(self.queue_url, sqs=self.sqs, linger_s=0.3)
        p.publish(event("cam-l", 0))
        time.sleep(0.1)
        self.assertEqual(self.calls, [])
        time.sleep(0.6)
        self.assertEqual(len(self.calls), 1)
        self.assertEqual([len(m) for m in self.received()], [1])
        p.close()

    def test_full_messages_go_early(self):
        p = MetricProducer(self.queue_url, sqs=self.sqs, linger_s=60, max_message_bytes=600)
        for c in range(10):
            for k in range(5):  # ~150-byte events: a message fills at 3
                p.publish(event(f"cam-{c}", k))
        self.assertEqual(len(self.calls), 1)  # ten full messages made a batch without waiting
        self.assertTrue(all(len({e["camera_id"] for e in json.loads(b)}) == 1 for b in self.calls[0]))
        p.close()
        self.assertEqual(p.sent, 50)

    def test_retries_only_failed_entries_with_the_same_body(self):
        self.fail_first_call = {1, 4}
        p = MetricProducer(self.queue_url, sqs=self.sqs, linger_s=60)
        for c in range(10):
            for k in range(3):
                p.publish(event(f"cam-{c}", k))
        p.close()
        self.assertEqual([len(c) for c in self.calls], [10, 2])
        self.assertEqual(self.calls[1], [self.calls[0][1], self.calls[0][4]])
        self.assertEqual(p.retried, 2)
        self.assertEqual(p.sent, 30)
        cameras = sorted(m[0]["camera_id"] for m in self.received())
        self.assertEqual(cameras, sorted(f"cam-{c}" for c in range(10)))

    def test_refuses_bad_events_naming_the_field(self):
        p = MetricProducer(self.queue_url, sqs=self.sqs, linger_s=60)
        with self.assertRaisesRegex(ValueError, r"^metric: must be one of .*got 'F1'"):
            p.publish({**event("cam-b", 0), "metric": "F1"})
        with self.assertRaisesRegex(ValueError, r"^value: must be a finite number, got nan"):
            p.publish({**event("cam-b", 0), "value": float("nan")})
        with self.assertRaisesRegex(ValueError, r"^camera_id: must be a non-empty string"):
            p.publish({**event("cam-b", 0), "camera_id": ""})
        p.close()
        self.assertEqual(self.calls, [])


if __name__ == "__main__":
    unittest.main()
