package io.zswapd.testkit.fuzz;

/**
 * The server broke a rule the fuzzer checks: a wrong answer, a connection not closed where the
 * spec says, a reply for no request. Checked, so that no session can drop one on the floor the
 * way it drops the I/O errors it provoked on purpose.
 */
final class Violation extends Exception {
  private static final long serialVersionUID = 1L;

  Violation(String message) {
    super(message);
  }
}
