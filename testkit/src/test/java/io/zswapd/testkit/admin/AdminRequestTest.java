package io.zswapd.testkit.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.zswapd.bridge.admin.AdminRequest;
import io.zswapd.protocol.engine.RecompressMode;
import io.zswapd.protocol.engine.WritebackMode;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The request lines of the admin endpoint, as the CLI builds them and the daemon reads them. */
class AdminRequestTest {

  @Test
  void everyCommandParsesToItsRequestAndBackToTheSameLine() {
    assertThat(AdminRequest.parse("stats")).isEqualTo(new AdminRequest.Stats(AdminRequest.Stats.View.FIGURES));
    assertThat(AdminRequest.parse("  stats   --classes \r")).isEqualTo(new AdminRequest.Stats(AdminRequest.Stats.View.CLASSES));
    assertThat(AdminRequest.parse("stats --shards")).isEqualTo(new AdminRequest.Stats(AdminRequest.Stats.View.SHARDS));
    assertThat(AdminRequest.parse("compact")).isEqualTo(new AdminRequest.Compact());
    assertThat(AdminRequest.parse("writeback huge")).isEqualTo(new AdminRequest.Writeback(WritebackMode.HUGE));
    assertThat(AdminRequest.parse(List.of("set", "pool.max-size", "2", "GiB")))
        .isEqualTo(new AdminRequest.Set("pool.max-size", "2 GiB"));
    assertThat(AdminRequest.parse("reset-max")).isEqualTo(new AdminRequest.ResetMax());
    assertThat(AdminRequest.parse("recompress idle")).isEqualTo(new AdminRequest.Recompress(RecompressMode.IDLE, 0));
    assertThat(AdminRequest.parse("recompress huge --threshold 3000"))
        .isEqualTo(new AdminRequest.Recompress(RecompressMode.HUGE, 3000));
    for (String line : List.of("stats", "stats --classes", "stats --shards", "compact", "writeback idle", "writeback all",
        "writeback lru", "recompress all", "recompress idle --threshold 1024", "set pool.accept-threshold 80%",
        "reset-max")) {
      assertThat(AdminRequest.parse(line).line()).isEqualTo(line);
    }
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "''|empty request; commands: stats, compact, writeback, recompress, set, reset-max",
      "frob|unknown command 'frob'; commands: stats, compact, writeback, recompress, set, reset-max",
      "stats --all|stats takes --classes or --shards, not '--all'",
      "compact now|compact takes no arguments, not 'now'",
      "reset-max 0|reset-max takes no arguments, not '0'",
      "writeback|writeback needs one mode: idle, huge, all or lru",
      "writeback cold|writeback mode 'cold' is not one of idle, huge, all or lru",
      "writeback idle huge|writeback needs one mode: idle, huge, all or lru",
      "set pool.max-size|set needs a key and a value, e.g. 'set pool.max-size 512MiB'",
      "recompress|recompress needs one mode, idle, huge or all, and optionally --threshold BYTES (0..4096)",
      "recompress lru|recompress mode 'lru' is not one of idle, huge or all",
      "recompress all --threshold|recompress needs one mode, idle, huge or all, and optionally --threshold BYTES (0..4096)",
      "recompress all --limit 5|recompress needs one mode, idle, huge or all, and optionally --threshold BYTES (0..4096), not '--limit'",
      "recompress all --threshold 5000|recompress --threshold '5000' is not a byte count from 0 to 4096",
      "recompress all --threshold x|recompress --threshold 'x' is not a byte count from 0 to 4096",
  })
  void malformedRequestsAreRefusedWithOneLine(String line, String message) {
    AdminRequest.BadRequest e = catchThrowableOfType(AdminRequest.BadRequest.class, () -> AdminRequest.parse(line));
    assertThat(e).as("'%s' is refused", line).isNotNull();
    assertThat(e.getMessage()).isEqualTo(message);
  }

  @ParameterizedTest
  @ValueSource(strings = {"STATS", "Compact", "writeback IDLE"})
  void commandsAndModesAreLowerCaseAsDocumented(String line) {
    assertThat(catchThrowableOfType(AdminRequest.BadRequest.class, () -> AdminRequest.parse(line))).isNotNull();
  }
}
