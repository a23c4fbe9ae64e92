// Finding the server: the `codels.serverPath` setting, else `codels` on PATH, else
// `python -m codels` with the interpreter the Python extension selected.
//
// Pure apart from the probes it is given, so that `node --test` can check the order and the
// messages without VS Code or a real server.

/** A way to start the server (`--stdio` and the user's arguments are added by the caller). */
export interface ServerCommand {
  command: string;
  args: string[];
  /** Where it was found, for the log: "codels.serverPath", "PATH", "Python extension". */
  source: string;
}

/** What the search may look at. */
export interface DiscoveryProbes {
  /** The `codels.serverPath` setting ("" when unset). */
  serverPath: string;
  /** The PATH environment variable. */
  pathEnv: string;
  /** "win32" looks for codels.exe/.cmd as well. */
  platform: string;
  /** Whether a file exists and may be executed. */
  isExecutable(path: string): Promise<boolean>;
  /** The Python extension's interpreter for the workspace, if the extension is there. */
  pythonInterpreter(): Promise<string | undefined>;
  /** Whether `command args --version` runs and exits 0 (it answers with codels's version). */
  answersVersion(command: string, args: string[]): Promise<boolean>;
}

export type Discovery =
  | { found: ServerCommand; tried: string[] }
  | { found: undefined; tried: string[] };

function pathCandidates(pathEnv: string, platform: string): string[] {
  const separator = platform === "win32" ? ";" : ":";
  const join = platform === "win32" ? "\\" : "/";
  const names = platform === "win32" ? ["codels.exe", "codels.cmd", "codels"] : ["codels"];
  const candidates: string[] = [];
  for (const dir of pathEnv.split(separator)) {
    if (dir.length === 0) {
      continue;
    }
    for (const name of names) {
      candidates.push(dir.replace(/[\\/]+$/, "") + join + name);
    }
  }
  return candidates;
}

/** Find the server in the documented order; `tried` says what was looked at, for the user. */
export async function findServer(probes: DiscoveryProbes): Promise<Discovery> {
  const tried: string[] = [];
  const serverPath = probes.serverPath.trim();
  if (serverPath.length > 0) {
    if (await probes.answersVersion(serverPath, [])) {
      return { found: { command: serverPath, args: [], source: "codels.serverPath" }, tried };
    }
    tried.push(`codels.serverPath "${serverPath}" does not run (\`${serverPath} --version\` failed)`);
  }
  let onPath = false;
  for (const candidate of pathCandidates(probes.pathEnv, probes.platform)) {
    if (await probes.isExecutable(candidate)) {
      onPath = true;
      if (await probes.answersVersion(candidate, [])) {
        return { found: { command: candidate, args: [], source: "PATH" }, tried };
      }
      tried.push(`${candidate} is on PATH but \`${candidate} --version\` failed`);
      break;
    }
  }
  if (!onPath) {
    tried.push("no codels on PATH");
  }
  const python = await probes.pythonInterpreter();
  if (python === undefined) {
    tried.push("no interpreter selected in the Python extension");
  } else if (await probes.answersVersion(python, ["-m", "codels"])) {
    return { found: { command: python, args: ["-m", "codels"], source: "Python extension" }, tried };
  } else {
    tried.push(`the Python extension's interpreter ${python} has no codels module`);
  }
  return { found: undefined, tried };
}
