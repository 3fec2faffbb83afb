// Operator silences: mute a camera, or a camera + metric, until a time. Stored in the camera's own
// state item (a read-modify-write under the same version condition as ingest), so a silence and
// concurrent metric updates never overwrite each other.
import type { MetricKind } from '../core/metric-event.js';
import type { CameraState, Silence } from '../core/camera-state.js';
import { StateConflictError } from './camera-update.js';
import type { StateStore } from './ports.js';

async function editCamera(
  store: StateStore,
  cameraId: string,
  edit: (s: CameraState) => void,
  nowMs: number,
  attempts = 5,
): Promise<CameraState> {
  for (let i = 1; ; i++) {
    const { state, version } = await store.load(cameraId);
    edit(state);
    const saved = await store.save(cameraId, state, version, nowMs);
    if (saved.ok) return state;
    if (i >= attempts) throw new StateConflictError(cameraId, i);
  }
}

/** Adds a silence; expired ones are dropped on the way. */
export async function addSilence(
  store: StateStore,
  cameraId: string,
  silence: Silence,
  nowMs = Date.now(),
): Promise<Silence[]> {
  const s = await editCamera(
    store,
    cameraId,
    (st) => {
      st.silences = [...st.silences.filter((x) => x.until > nowMs), silence];
    },
    nowMs,
  );
  return s.silences;
}

/** Removes the camera's silences (only those on `metric` when given); returns how many went. */
export async function clearSilences(
  store: StateStore,
  cameraId: string,
  metric?: MetricKind,
  nowMs = Date.now(),
): Promise<number> {
  let removed = 0;
  await editCamera(
    store,
    cameraId,
    (st) => {
      const keep = st.silences.filter((x) => metric !== undefined && x.metric !== metric);
      removed = st.silences.length - keep.length;
      st.silences = keep;
    },
    nowMs,
  );
  return removed;
}
