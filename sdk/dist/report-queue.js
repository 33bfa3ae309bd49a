import { untraced } from './untraced.js';
/** ExportResultCode.SUCCESS of @opentelemetry/core, not a dependency of this package. */
const EXPORT_SUCCESS = 0;
export class ReportQueue {
    exporter;
    stats = { exported: 0, lost: 0, superseded: 0, exports: 0 };
    waiting = new Map();
    delayMs;
    batchSize;
    maxQueue;
    timeoutMs;
    timer;
    draining = null;
    closed = false;
    constructor(exporter, options = {}) {
        this.exporter = exporter;
        this.delayMs = options.scheduledDelayMillis ?? 500;
        this.batchSize = Math.max(1, options.maxExportBatchSize ?? 512);
        this.maxQueue = Math.max(this.batchSize, options.maxQueueSize ?? 4096);
        this.timeoutMs = options.exportTimeoutMillis ?? 30_000;
    }
    add(spanId, report) {
        if (this.closed)
            return;
        if (this.waiting.size >= this.maxQueue) {
            this.stats.lost++;
            return;
        }
        this.waiting.set(spanId, report);
        // A drain under way takes the new report too.
        if (this.waiting.size >= this.batchSize) {
            if (!this.draining)
                void this.drain(false);
        }
        else
            this.schedule();
    }
    /** The span ended: its report, if it has not left yet, is moot. */
    supersede(spanId) {
        if (this.waiting.delete(spanId))
            this.stats.superseded++;
    }
    /** Sends everything waiting now; resolves once it was answered. */
    async flush() {
        clearTimeout(this.timer);
        this.timer = undefined;
        await this.drain(true);
    }
    async shutdown() {
        await this.flush();
        this.closed = true;
    }
    schedule() {
        if (this.timer || this.draining)
            return;
        this.timer = setTimeout(() => {
            this.timer = undefined;
            void this.drain(true);
        }, this.delayMs);
        // A process with nothing else to do exits; shutdown/forceFlush sends what is left.
        this.timer.unref?.();
    }
    /** Sends full batches, and with `all` the last partial one too (its delay is over, or a flush wants it). */
    drain(all) {
        if (this.draining)
            return all ? this.draining.then(() => this.drain(true)) : this.draining;
        this.draining = (async () => {
            while (this.waiting.size >= (all ? 1 : this.batchSize)) {
                const batch = [];
                for (const [spanId, report] of this.waiting) {
                    this.waiting.delete(spanId);
                    batch.push(report);
                    if (batch.length >= this.batchSize)
                        break;
                }
                await this.send(batch);
            }
        })().finally(() => {
            this.draining = null;
            if (this.waiting.size > 0)
                this.schedule();
        });
        return this.draining;
    }
    send(batch) {
        this.stats.exports++;
        return new Promise((resolve) => {
            let done = false;
            const finish = (ok) => {
                if (done)
                    return;
                done = true;
                clearTimeout(timer);
                if (ok)
                    this.stats.exported += batch.length;
                else
                    this.stats.lost += batch.length;
                resolve();
            };
            const timer = setTimeout(() => finish(false), this.timeoutMs);
            timer.unref?.();
            try {
                untraced(() => this.exporter.export(batch, (result) => finish(result.code === EXPORT_SUCCESS)));
            }
            catch {
                finish(false);
            }
        });
    }
}
