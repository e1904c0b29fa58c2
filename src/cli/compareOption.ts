// The --compare-model option of trace, micro and run (kept apart from compareModels.ts: the commands' help texts use
// it when they load, and compareModels.ts imports the commands' helpers).
/** The option every comparing command takes. */
export const COMPARE_OPTION = 'compare-model';

export const COMPARE_HELP =
  '  --compare-model M2[,M3…]  run the same experiment on these models too (each a folder, a downloaded Hub id, demo or\n' +
  '                 demo-mamba1; each with its own tokenisation and positions, the same window sizes for all: the default is the\n' +
  '                 shallowest model\'s) and write ONE comparison result (kind "comparison", one entry per model); the curves\n' +
  '                 are shown on one axis of relative depth ℓ / (L − k).';

