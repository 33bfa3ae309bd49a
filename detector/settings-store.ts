// The rule settings in force: stored under `rules` in detector_state (PUT /api/detector/rules writes them),
// read again on every tick so a change applies on the next one, in this process or another. Inside a Canopy
// process the API says when it saved them (CanopyRuntime.ruleSettingsSaved), so they are read on the next tick
// then, and otherwise every few seconds on a ClickHouse server (for a save by another process there); never on
// the embedded store, which no other process opens (server.ts).
import type { Storage } from '../lib/server/storage/storage';
import { readStateStamped, writeState } from '../lib/server/queries/detector-state';
import { DEFAULT_SETTINGS, parseSettings, type DetectorSettings } from './settings';

export const STATE_RULES = 'rules';

export class DetectorSettingsStore {
  current: DetectorSettings = DEFAULT_SETTINGS;
  private stamp = -1;
  private readAt = -Infinity;
  private saved = true;

  /** `pollMs`: how often the settings are read when nothing said they were saved (0: on every refresh). */
  constructor(
    private readonly storage: Storage,
    private readonly pollMs = 0,
  ) {}

  /** Settings were saved (by this process's API): the next refresh reads them. */
  noteSaved(): void {
    this.saved = true;
  }

  async refresh(): Promise<DetectorSettings> {
    const now = performance.now();
    if (!this.saved && now - this.readAt < this.pollMs) return this.current;
    this.saved = false;
    this.readAt = now;
    const saved = await readStateStamped<unknown>(this.storage.client, STATE_RULES);
    if (saved && saved.updatedMs !== this.stamp) {
      this.stamp = saved.updatedMs;
      try {
        this.current = parseSettings(saved.value);
      } catch {
        // Saved by an older Canopy with other fields: its defaults stand until the settings are saved again.
        this.current = DEFAULT_SETTINGS;
      }
    }
    return this.current;
  }
}

/** The settings in force (the defaults until some were saved). */
export async function loadRuleSettings(storage: Storage): Promise<DetectorSettings> {
  return new DetectorSettingsStore(storage).refresh();
}

/** Saves validated settings; detectors apply them on their next tick. */
export async function saveRuleSettings(storage: Storage, settings: DetectorSettings): Promise<void> {
  await writeState(storage, STATE_RULES, settings);
}
