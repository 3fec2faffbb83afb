// SageMaker adapter: the parameters a pipeline execution was started with. The SDK client is loaded
// on the first SageMaker event only, so the lifecycle function's cold start does not pay for it.
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { PipelineExecutionParameters } from '../app/ports.js';

export class SageMakerPipelineExecutions implements PipelineExecutionParameters {
  private client?: Promise<{ client: SageMakerClient; sdk: typeof import('@aws-sdk/client-sagemaker') }>;

  /** `configure` adapts the client once created (tracing, fault injection in tests). */
  constructor(private readonly configure: (c: SageMakerClient) => SageMakerClient = (c) => c) {}

  private load() {
    this.client ??= import('@aws-sdk/client-sagemaker').then((sdk) => ({
      sdk,
      client: this.configure(new sdk.SageMakerClient({})),
    }));
    return this.client;
  }

  async parameters(executionArn: string): Promise<Record<string, string>> {
    const { client, sdk } = await this.load();
    const out: Record<string, string> = {};
    let NextToken: string | undefined;
    do {
      const r = await client.send(
        new sdk.ListPipelineParametersForExecutionCommand({ PipelineExecutionArn: executionArn, NextToken }),
      );
      for (const p of r.PipelineParameters ?? []) if (p.Name !== undefined) out[p.Name] = p.Value ?? '';
      NextToken = r.NextToken;
    } while (NextToken);
    return out;
  }

  destroy(): void {
    void this.client?.then(({ client }) => client.destroy());
  }
}
