// What every stack command needs without reading a compose file: the stack label and the
// error type. Kept apart from load.ts/convert.ts so that `shoal` loads the YAML parser and
// the schema validator (~1 s of start-up on this machine) only when a file is read.
import { CliError } from '../../../errors.js';

/** The label every object of a stack carries: its stack's name. */
export const NAMESPACE_LABEL = 'com.docker.stack.namespace';

/** A compose file that cannot be deployed: one line with the file, line and key. */
export class ComposeError extends CliError {
  override name = 'ComposeError';
}
