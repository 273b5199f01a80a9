/**
 * Assembles a WebAssembly module (spec §5.5): a type section with each distinct signature once, an
 * imported linear memory, the functions, their exports and their code. Functions are declared first
 * (so their indices are known to `call` sites) and given bodies afterwards.
 */
import { ByteWriter } from './encoding.ts';
import type { FunctionBuilder } from './function-builder.ts';

const SECTION = { type: 1, import: 2, function: 3, export: 7, code: 10 } as const;
const FUNC_TYPE = 0x60;
const EXTERNAL_FUNC = 0x00;
const EXTERNAL_MEMORY = 0x02;

interface Declared {
  readonly name: string;
  readonly exported: boolean;
  readonly builder: FunctionBuilder;
}

export class ModuleBuilder {
  private readonly functions: Declared[] = [];
  private memory: { module: string; field: string; minPages: number } | null = null;

  /** The module's linear memory comes from the host, so the host can grow it and read it directly. */
  importMemory(module: string, field: string, minPages: number): this {
    this.memory = { module, field, minPages };
    return this;
  }

  /** Adds a function and returns its index (what `call` takes). */
  add(name: string, builder: FunctionBuilder, exported = true): number {
    if (this.functions.some((f) => f.name === name))
      throw new Error(`wasm module: duplicate function '${name}'`);
    this.functions.push({ name, exported, builder });
    return this.functions.length - 1;
  }

  encode(): Uint8Array {
    const types: string[] = [];
    const typeSection = new ByteWriter();
    const typeIndex = this.functions.map(({ builder }) => {
      const key = `${builder.params.join(',')}:${builder.results.join(',')}`;
      let index = types.indexOf(key);
      if (index < 0) {
        index = types.push(key) - 1;
        typeSection.byte(FUNC_TYPE).u32(builder.params.length).append(builder.params);
        typeSection.u32(builder.results.length).append(builder.results);
      }
      return index;
    });

    const out = new ByteWriter().append([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const section = (id: number, count: number, body: ByteWriter): void => {
      const framed = new ByteWriter().u32(count).append(body.finish());
      out.byte(id).sized(framed);
    };

    section(SECTION.type, types.length, typeSection);
    if (this.memory) {
      const imports = new ByteWriter().name(this.memory.module).name(this.memory.field);
      imports.byte(EXTERNAL_MEMORY).byte(0x00).u32(this.memory.minPages);
      section(SECTION.import, 1, imports);
    }
    const funcs = new ByteWriter();
    for (const t of typeIndex) funcs.u32(t);
    section(SECTION.function, this.functions.length, funcs);
    const exports = new ByteWriter();
    const exported = this.functions.filter((f) => f.exported);
    for (const f of exported) exports.name(f.name).byte(EXTERNAL_FUNC).u32(this.functions.indexOf(f));
    section(SECTION.export, exported.length, exports);
    const code = new ByteWriter();
    for (const f of this.functions) code.sized(f.builder.encode());
    section(SECTION.code, this.functions.length, code);
    return out.finish();
  }
}
