// config.json → ModelConfig of the right family (the registry decides; see src/engine/arch/).
export { parseModelConfig as parseConfig } from '../arch/index';
export { MAMBA2_DEFAULTS } from '../arch/mamba2/config';
export { MAMBA1_DEFAULTS } from '../arch/mamba1/config';
