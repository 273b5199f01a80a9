/**
 * `Module`: the base of every layer. A module owns named parameters (trainable leaf tensors), named buffers
 * (state that is saved but not trained, such as normaliser statistics) and named child modules, as in
 * PyTorch's `nn.Module`. Names are dotted paths (`layers.0.weight`), so a state dict reads the same as
 * PyTorch's and a safetensors checkpoint opens there too.
 */
import { type Shape, shapeString, Tensor } from '../tensor/index.ts';

/** A module's state: dotted name -> a detached copy of the parameter or buffer. */
export type StateDict = Record<string, Tensor>;

export interface LoadStateDictOptions {
  /**
   * When true (the default), a name missing from the state dict or a name the module does not have is an
   * error. When false, only the names present on both sides are loaded. Shapes must always match.
   */
  strict?: boolean;
  /** Where the state came from (a file name), quoted in error messages. */
  source?: string;
}

export class Module {
  private readonly ownParameters = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private readonly ownChildren = new Map<string, Module>();

  /** Adds a trainable parameter under `name`; the tensor is made a leaf that requires grad. */
  protected registerParameter(name: string, value: Tensor): Tensor {
    this.checkName(name);
    value.setRequiresGrad(true);
    this.ownParameters.set(name, value);
    return value;
  }

  /** Adds saved, untrained state under `name` (it takes part in stateDict but not in parameters()). */
  protected registerBuffer(name: string, value: Tensor): Tensor {
    this.checkName(name);
    this.ownBuffers.set(name, value);
    return value;
  }

  protected registerModule<M extends Module>(name: string, child: M): M {
    this.checkName(name);
    this.ownChildren.set(name, child);
    return child;
  }

  private checkName(name: string): void {
    if (name === '' || name.includes('.')) {
      throw new Error(`Module: name '${name}' must be non-empty and contain no '.'`);
    }
    if (this.ownParameters.has(name) || this.ownBuffers.has(name) || this.ownChildren.has(name)) {
      throw new Error(`Module: name '${name}' is already registered on ${this.constructor.name}`);
    }
  }

  /** Every parameter with its dotted name, own parameters first, then children in registration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, p] of this.ownParameters) out.push([prefix + name, p]);
    for (const [name, child] of this.ownChildren) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, b] of this.ownBuffers) out.push([prefix + name, b]);
    for (const [name, child] of this.ownChildren) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  children(): [string, Module][] {
    return [...this.ownChildren];
  }

  /** The number of trainable scalars. */
  parameterCount(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.size;
    return n;
  }

  /** Clears (zero-fills) every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.zeroGrad();
  }

  /** Parameters and buffers by dotted name, as detached copies (later training does not change them). */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const [name, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
      out[name] = new Tensor(t.data.slice(), [...t.shape]);
    }
    return out;
  }

  /**
   * Copies values from `state` into this module's parameters and buffers, in place (optimisers holding the
   * parameters keep working). A name on one side only, or a shape that differs, is an error naming both.
   */
  loadStateDict(
    state: Record<string, { shape: Shape; data: Float32Array }>,
    options: LoadStateDictOptions = {},
  ): void {
    const strict = options.strict ?? true;
    const from = options.source ? ` (from ${options.source})` : '';
    const own = new Map([...this.namedParameters(), ...this.namedBuffers()]);
    const given = Object.keys(state);
    if (strict) {
      const missing = [...own.keys()].filter((k) => !(k in state));
      const unexpected = given.filter((k) => !own.has(k));
      if (missing.length > 0 || unexpected.length > 0) {
        throw new Error(
          `loadStateDict${from}: state does not match ${this.constructor.name}; ` +
            `missing from the state: [${missing.join(', ')}]; not in the module: [${unexpected.join(', ')}]`,
        );
      }
    }
    // Check every shape before copying anything, so a failed load leaves the module untouched.
    for (const name of given) {
      const target = own.get(name);
      if (!target) continue;
      const src = state[name]!;
      const sameShape =
        src.shape.length === target.shape.length && src.shape.every((d, i) => d === target.shape[i]);
      if (!sameShape || src.data.length !== target.size) {
        throw new Error(
          `loadStateDict${from}: '${name}' has shape ${shapeString(src.shape)} in the state but ` +
            `${shapeString(target.shape)} in ${this.constructor.name}`,
        );
      }
    }
    for (const name of given) own.get(name)?.data.set(state[name]!.data);
  }
}

/** A fresh trainable leaf of the given shape over `data` (not tracked by any tidy scope). */
export function parameter(data: Float32Array, shape: Shape): Tensor {
  return new Tensor(data, [...shape], true);
}
