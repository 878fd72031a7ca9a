// The shared FEC compliance suite over every scheme (TypeScript executor).
import { describe, it } from 'vitest';
import { complianceCases } from '../../../codecs/compliance.js';
import { ldpcStaircase, noCode } from '../../../codecs/index.js';

describe('FEC compliance: Compact No-Code', () => {
  for (const c of complianceCases(noCode)) it(c.name, () => c.run());
});

describe('FEC compliance: LDPC-Staircase, TypeScript executor', () => {
  for (const c of complianceCases(ldpcStaircase, { encoder: { native: false }, decoder: { native: false } })) it(c.name, () => c.run());
});
