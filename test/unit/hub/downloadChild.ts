// Child process of the "killed mid-download" test: downloads one model and reports progress on stdout.
import { downloadModel } from '../../../src/engine/hub/index';

const [id, cacheDir, managedDir, endpoint] = process.argv.slice(2);
downloadModel(id, { cacheDir, managedDir, endpoint, offline: false, retryDelayMs: 1, onProgress: (p) => process.stdout.write(`${p.done}\n`) }).then(
  () => process.stdout.write('done\n'),
  (e) => {
    process.stderr.write(String(e));
    process.exit(1);
  },
);
