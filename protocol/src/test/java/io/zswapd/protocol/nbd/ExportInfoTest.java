package io.zswapd.protocol.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ExportInfoTest {

    @Test
    void hasFlagsIsAlwaysSet() {
        assertThat(ExportInfo.of("a", 4096, 0).transmissionFlags()).isEqualTo(Nbd.FLAG_HAS_FLAGS);
    }

    @Test
    void defaultsAreByteAlignedPagePreferredAndThirtyTwoMebibyteMaximum() {
        ExportInfo e = ExportInfo.of("a", 1L << 30, Nbd.FLAG_SEND_FLUSH);
        assertThat(e.minBlock()).isEqualTo(1);
        assertThat(e.preferredBlock()).isEqualTo(4096);
        assertThat(e.maxBlock()).isEqualTo(32 << 20);
    }

    @Test
    void blockSizesFollowTheSpecRules() {
        ExportInfo base = ExportInfo.of("a", 1L << 30, 0);
        assertThat(base.withBlockSizes(512, 4096, 1 << 20).minBlock()).isEqualTo(512);
        assertThatThrownBy(() -> base.withBlockSizes(3, 4096, 1 << 20)).hasMessageContaining("power of two");
        assertThatThrownBy(() -> base.withBlockSizes(1 << 17, 1 << 17, 1 << 20)).hasMessageContaining("1..65536");
        assertThatThrownBy(() -> base.withBlockSizes(1, 256, 1 << 20)).hasMessageContaining(">= 512");
        assertThatThrownBy(() -> base.withBlockSizes(512, 4096, 1000)).hasMessageContaining("multiple of 512");
        assertThatThrownBy(() -> base.withBlockSizes(1, 4096, 2048)).hasMessageContaining(">= 4096");
    }

    @Test
    void aTinyExportMayHaveAMaximumBelowThePreferredSize() {
        assertThat(ExportInfo.of("tiny", 1024, 0).withBlockSizes(1, 4096, 1024).maxBlock()).isEqualTo(1024);
    }

    @Test
    void stringsObeyTheSpecLimits() {
        assertThatThrownBy(() -> ExportInfo.of("x".repeat(4097), 0, 0)).hasMessageContaining("4096");
        assertThatThrownBy(() -> ExportInfo.of("a\0b", 0, 0)).hasMessageContaining("NUL");
        assertThatThrownBy(() -> ExportInfo.of("a", 0, 0).withDescription("é".repeat(2049)))
                .hasMessageContaining("4098 bytes");
        assertThat(ExportInfo.of("x".repeat(4096), 0, 0).name()).hasSize(4096);
    }

    @Test
    void negativeSizesAndWideFlagsAreRefused() {
        assertThatThrownBy(() -> ExportInfo.of("a", -1, 0)).hasMessageContaining("negative");
        assertThatThrownBy(() -> ExportInfo.of("a", 0, 1 << 16)).hasMessageContaining("16 bits");
    }

    @Test
    void catalogResolvesTheEmptyNameToTheFirstExport() {
        ExportInfo a = ExportInfo.of("a", 4096, 0);
        ExportInfo b = ExportInfo.of("b", 4096, 0);
        ExportCatalog catalog = ExportCatalog.of(a, b);

        assertThat(catalog.resolve("")).contains(a);
        assertThat(catalog.resolve("b")).contains(b);
        assertThat(catalog.resolve("c")).isEmpty();
        assertThat(ExportCatalog.of().resolve("")).isEmpty();
    }

    @Test
    void anExportLiterallyNamedEmptyWinsOverTheFirst() {
        ExportInfo a = ExportInfo.of("a", 4096, 0);
        ExportInfo unnamed = ExportInfo.of("", 8192, 0);

        assertThat(ExportCatalog.of(a, unnamed).resolve("")).contains(unnamed);
    }

    @Test
    void catalogRefusesDuplicateNames() {
        assertThatThrownBy(() -> ExportCatalog.of(ExportInfo.of("a", 1, 0), ExportInfo.of("a", 2, 0)))
                .hasMessageContaining("'a'");
    }
}
