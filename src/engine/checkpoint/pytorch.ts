// PyTorch pytorch_model.bin reader (zip + restricted pickle). Placeholder until the zip/pickle reader lands.
import { UserError } from '../types';
import { StoredTensor } from './io';

export function readTorchZip(_fd: number, file: string): StoredTensor[] {
  throw new UserError(`${file}: pytorch_model.bin is not supported yet; convert the checkpoint to safetensors`);
}
