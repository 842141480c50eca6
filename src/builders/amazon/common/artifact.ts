/** The amazon builders' artifact (spec §B.24). */
import type { Artifact, GeneratedData } from '../../../core/types.js';
import { goMultiError } from '../../../util/errors.js';
import type { Ec2 } from './aws.js';
import { awsErrorText } from './aws.js';

export const EBS_BUILDER_ID = 'mitchellh.amazonebs';

export class AmiArtifact implements Artifact {
  readonly files: string[] = [];
  constructor(
    readonly builderId: string,
    /** region → AMI id */
    readonly amis: Record<string, string>,
    private readonly generated: GeneratedData,
    private readonly ec2For: (region: string) => Promise<Ec2>,
  ) {}

  private sorted(): [string, string][] {
    return Object.entries(this.amis).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  get id(): string {
    return this.sorted()
      .map(([r, a]) => `${r}:${a}`)
      .sort()
      .join(',');
  }

  toString(): string {
    return `AMIs were created:\n${this.sorted()
      .map(([r, a]) => `${r}: ${a}`)
      .sort()
      .join('\n')}\n`;
  }

  state(name: string): unknown {
    if (name === 'atlas.artifact.metadata') {
      const out: Record<string, string> = {};
      for (const [r, a] of this.sorted()) out[`region.${r}`] = a;
      return out;
    }
    if (name === 'generated_data') return this.generated;
    return undefined;
  }

  async destroy(): Promise<void> {
    const errs: string[] = [];
    const { destroyImage } = await import('./steps/ami-steps.js');
    for (const [region, ami] of this.sorted()) {
      try {
        const ec2 = await this.ec2For(region);
        const out = await ec2.client.send(new ec2.sdk.DescribeImagesCommand({ ImageIds: [ami] }));
        for (const img of out.Images ?? []) await destroyImage(ec2, img, { say: false });
      } catch (err) {
        errs.push(awsErrorText(err));
      }
    }
    if (errs.length > 0) throw new Error(goMultiError(errs));
  }
}
