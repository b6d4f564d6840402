// Worker thread: receives the shared trace once, then runs jobs one at a time as the main thread
// hands them out, reporting progress and results.
import { parentPort, workerData } from 'node:worker_threads';
import { runJob, type Job, type TraceArrays } from './replay.ts';

const trace = workerData as TraceArrays;
const port = parentPort!;

port.on('message', (job: Job) => {
  try {
    const counts = runJob(trace, job, (done) => port.postMessage({ type: 'progress', id: job.id, done }));
    port.postMessage({ type: 'result', id: job.id, counts });
  } catch (error) {
    port.postMessage({ type: 'error', id: job.id, message: error instanceof Error ? error.message : String(error) });
  }
});
