//! Packs VisuTility metric events per camera and sends them to the ingest queue.
//!
//! The same packing as the Node `MetricPublisher` (lib/client/metric-publisher.ts): a camera's
//! events wait up to `linger` and go as one JSON-array message (sooner when the message is full),
//! 10 messages per `SendMessageBatch`; only failed entries are retried, with full-jitter backoff.
//! The Lambda then writes a camera's state once per message instead of once per event.
//!
//! `MetricEvent` is the original module's type, unchanged: its serde form is the wire format.
//! Events arrive on an mpsc channel, as in the original module; dropping the sender flushes all.
//!
//! Run against `npm run local`: `AWS_ENDPOINT_URL=… cargo run -- <ingest queue url>`.
//!
//! NOT COMPILED IN CI: this is an example, not a tested client. No Rust toolchain runs in this
//! repository's CI (`.ci/run`) and this file has never been compiled or run here.

use std::{collections::HashMap, time::Duration};

use anyhow::{bail, Context, Result};
use aws_sdk_sqs::{types::SendMessageBatchRequestEntry, Client};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::{sync::mpsc, time::Instant};
use uuid::Uuid;

/* ----------------------- the original module's types ----------------------- */

/// Different camera stream modalities supported by VisuTility.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Eq, PartialEq, Hash)]
pub enum CameraModality {
    Rgb,
    Thermal,
    Depth,
}

/// High-level metric categories emitted by Serving-Ops.
#[derive(Debug, Clone, Serialize, Deserialize, Eq, PartialEq, Hash)]
pub enum MetricKind {
    Accuracy,
    Precision,
    Recall,
    DriftScore,
    LatencyMs,
}

/// Real-time metric envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricEvent {
    pub id: Uuid,
    pub timestamp: DateTime<Utc>,
    pub camera_id: String,
    pub modality: CameraModality,
    pub metric: MetricKind,
    pub value: f64,
}

impl MetricEvent {
    pub fn new<S: Into<String>>(camera_id: S, modality: CameraModality, metric: MetricKind, value: f64) -> Self {
        Self { id: Uuid::new_v4(), timestamp: Utc::now(), camera_id: camera_id.into(), modality, metric, value }
    }
}

/* --------------------------------- packing --------------------------------- */

const MAX_BATCH_ENTRIES: usize = 10;
const MAX_BATCH_BYTES: usize = 256 * 1024;

pub struct PackerConfig {
    /// Longest an event waits before it is sent. 60 s: ~30 events per message at 5 metrics / 10 s.
    pub linger: Duration,
    /// Largest message body; a tenth of a batch, so 10 full messages make one request.
    pub max_message_bytes: usize,
    /// Attempts per message (first send included) before its events are handed back.
    pub max_attempts: u32,
}

impl Default for PackerConfig {
    fn default() -> Self {
        Self { linger: Duration::from_secs(60), max_message_bytes: MAX_BATCH_BYTES / MAX_BATCH_ENTRIES, max_attempts: 10 }
    }
}

/// One camera's message being filled: the JSON text of each event, and their ids.
#[derive(Default)]
struct OpenMessage {
    events: Vec<String>,
    ids: Vec<Uuid>,
}

/// Bytes of a JSON array body holding these events.
fn body_bytes(events: &[String]) -> usize {
    2 + events.iter().map(String::len).sum::<usize>() + events.len().saturating_sub(1)
}

pub struct CameraPacker {
    client: Client,
    queue_url: String,
    config: PackerConfig,
    open: HashMap<String, OpenMessage>,
    ready: Vec<Vec<String>>,
    /// When the oldest held event reaches the linger.
    deadline: Option<Instant>,
    /// Events SQS would not take after every attempt: the caller decides their fate.
    pub undelivered: Vec<MetricEvent>,
    /// Events refused before sending, with the reason.
    pub rejected: Vec<(MetricEvent, String)>,
    pub sent: usize,
}

impl CameraPacker {
    pub fn new(client: Client, queue_url: impl Into<String>, config: PackerConfig) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            config,
            open: HashMap::new(),
            ready: Vec::new(),
            deadline: None,
            undelivered: Vec::new(),
            rejected: Vec::new(),
            sent: 0,
        }
    }

    /// Packs every event from `events` until the channel closes, then sends what is held.
    pub async fn run(mut self, mut events: mpsc::Receiver<MetricEvent>) -> Result<Self> {
        loop {
            let deadline = self.deadline;
            tokio::select! {
                next = events.recv() => match next {
                    Some(event) => {
                        if let Err(err) = self.add(&event).await {
                            self.rejected.push((event, err.to_string()));
                        }
                    }
                    None => break,
                },
                _ = async { tokio::time::sleep_until(deadline.unwrap()).await }, if deadline.is_some() => {
                    self.flush().await?;
                }
            }
        }
        self.flush().await?;
        Ok(self)
    }

    async fn add(&mut self, event: &MetricEvent) -> Result<()> {
        let text = serde_json::to_string(event)?;
        if text.len() + 2 > self.config.max_message_bytes {
            bail!("event {} is {} bytes of JSON; at most {} fit in one message", event.id, text.len(), self.config.max_message_bytes - 2);
        }
        let message = self.open.entry(event.camera_id.clone()).or_default();
        let grown = body_bytes(&message.events) + 1 + text.len();
        // The Lambda refuses a second event with the same id in one message: it goes in the next.
        if !message.events.is_empty() && (grown > self.config.max_message_bytes || message.ids.contains(&event.id)) {
            let full = std::mem::take(message);
            self.ready.push(full.events);
        }
        let message = self.open.entry(event.camera_id.clone()).or_default();
        message.events.push(text);
        message.ids.push(event.id);
        self.deadline.get_or_insert_with(|| Instant::now() + self.config.linger);
        while self.ready.len() >= MAX_BATCH_ENTRIES {
            let batch = self.next_batch();
            self.send(batch).await;
        }
        Ok(())
    }

    /// Sends everything held now.
    pub async fn flush(&mut self) -> Result<()> {
        let open: Vec<Vec<String>> = self.open.drain().map(|(_, m)| m.events).filter(|e| !e.is_empty()).collect();
        self.ready.extend(open);
        self.deadline = None;
        while !self.ready.is_empty() {
            let batch = self.next_batch();
            self.send(batch).await;
        }
        Ok(())
    }

    /// Up to 10 ready messages whose bodies sum to at most 256 KiB.
    fn next_batch(&mut self) -> Vec<Vec<String>> {
        let (mut count, mut bytes) = (0, 0);
        while count < self.ready.len().min(MAX_BATCH_ENTRIES) {
            let size = body_bytes(&self.ready[count]);
            if count > 0 && bytes + size > MAX_BATCH_BYTES {
                break;
            }
            bytes += size;
            count += 1;
        }
        self.ready.drain(..count).collect()
    }

    /// Sends one batch, retrying only the entries that failed, with full-jitter backoff.
    async fn send(&mut self, messages: Vec<Vec<String>>) {
        let mut pending = messages;
        let mut last_error = String::new();
        for attempt in 0..self.config.max_attempts {
            if attempt > 0 {
                let cap_ms = (50.0 * 2f64.powi(attempt as i32 - 1)).min(5_000.0);
                tokio::time::sleep(Duration::from_millis((rand::random::<f64>() * cap_ms) as u64)).await;
            }
            let entries: Vec<SendMessageBatchRequestEntry> = match pending
                .iter()
                .enumerate()
                .map(|(i, m)| SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(format!("[{}]", m.join(","))).build())
                .collect::<Result<_, _>>()
            {
                Ok(entries) => entries,
                Err(err) => {
                    last_error = err.to_string();
                    break;
                }
            };
            let failed: Vec<(usize, bool)> = match self.client.send_message_batch().queue_url(&self.queue_url).set_entries(Some(entries)).send().await {
                Ok(out) => out
                    .failed()
                    .iter()
                    .filter_map(|f| {
                        last_error = format!("{}: {}", f.code(), f.message().unwrap_or_default());
                        f.id().parse::<usize>().ok().map(|i| (i, f.sender_fault()))
                    })
                    .collect(),
                Err(err) => {
                    // Network or throttling: every entry is retried.
                    last_error = err.to_string();
                    (0..pending.len()).map(|i| (i, false)).collect()
                }
            };
            let mut again = Vec::new();
            for (i, message) in pending.into_iter().enumerate() {
                match failed.iter().find(|(id, _)| *id == i) {
                    None => self.sent += message.len(),
                    // The entry itself is refused: a retry will not help.
                    Some((_, true)) => self.give_up(message),
                    Some((_, false)) => again.push(message),
                }
            }
            pending = again;
            if pending.is_empty() {
                return;
            }
        }
        eprintln!("{} message(s) undelivered: {last_error}", pending.len());
        for message in pending {
            self.give_up(message);
        }
    }

    fn give_up(&mut self, message: Vec<String>) {
        self.undelivered.extend(message.iter().filter_map(|text| serde_json::from_str(text).ok()));
    }
}

/* ---------------------------------- demo ----------------------------------- */

#[tokio::main]
async fn main() -> Result<()> {
    let queue_url = std::env::args().nth(1).context("usage: visutility-producer <ingest queue url>")?;
    let config = aws_config::load_from_env().await;
    let packer = CameraPacker::new(Client::new(&config), queue_url, PackerConfig::default());
    let (tx, rx) = mpsc::channel(1024);
    let task = tokio::spawn(packer.run(rx));
    for camera in 0..5 {
        for (metric, value) in [
            (MetricKind::Accuracy, 0.91),
            (MetricKind::DriftScore, 0.2),
            (MetricKind::LatencyMs, 40.0),
        ] {
            tx.send(MetricEvent::new(format!("rs-cam-{camera}"), CameraModality::Rgb, metric, value)).await?;
        }
    }
    drop(tx); // closing the channel sends what is held
    let packer = task.await??;
    println!("sent {} events, {} undelivered, {} rejected", packer.sent, packer.undelivered.len(), packer.rejected.len());
    if !packer.undelivered.is_empty() {
        bail!("{} event(s) were not delivered", packer.undelivered.len());
    }
    Ok(())
}
