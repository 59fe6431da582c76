package io.zswapd.actors.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class PoolGeometryTest {

  @ParameterizedTest
  @ValueSource(ints = {4, 8, 16})
  void everyLengthFitsItsClassAndClassesAreMultiplesOfTheDelta(int maxPages) {
    PoolGeometry g = PoolGeometry.of(maxPages);
    for (int len = 1; len <= 4096; len++) {
      ClassGeometry c = g.classFor(len);
      assertThat(c.size()).as("length %d", len).isGreaterThanOrEqualTo(len);
      assertThat((c.size() - 32) % 16).isZero();
      // The smallest class that holds it: no class lies in [len, size).
      for (ClassGeometry other : g.classes()) {
        assertThat(other.size() < len || other.size() >= c.size()).as("length %d, class %d", len, c.size()).isTrue();
      }
    }
    assertThat(g.classFor(1).size()).isEqualTo(32);
    assertThat(g.classFor(32).size()).isEqualTo(32);
    assertThat(g.classFor(4096).size()).isEqualTo(4096);
  }

  @ParameterizedTest
  @ValueSource(ints = {4, 8, 16})
  void pagesPerZspageMaximiseUsageAndMergedClassesDiffer(int maxPages) {
    List<ClassGeometry> classes = PoolGeometry.of(maxPages).classes();
    for (int i = 0; i < classes.size(); i++) {
      ClassGeometry c = classes.get(i);
      assertThat(c.index()).isEqualTo(i);
      assertThat(c.pagesPerZspage()).isBetween(1, maxPages);
      assertThat(c.objsPerZspage()).isEqualTo(c.pagesPerZspage() * 4096 / c.size());
      for (int p = 1; p <= maxPages; p++) {
        double usage = (double) (p * 4096 / c.size()) * c.size() / (p * 4096.0);
        assertThat(c.usage()).as("class %d with %d pages", c.size(), p).isGreaterThanOrEqualTo(usage - 1e-12);
      }
      if (i > 0) {
        ClassGeometry prev = classes.get(i - 1);
        assertThat(prev.size()).isLessThan(c.size());
        assertThat(prev.pagesPerZspage() == c.pagesPerZspage() && prev.objsPerZspage() == c.objsPerZspage())
            .as("classes %d and %d have the same geometry and should be merged", prev.size(), c.size()).isFalse();
      }
    }
    assertThat(classes.size()).isLessThan(255); // merging happened
  }

  @Test
  void hugeThresholdIsTheFirstSizeWithOneObjectPerZspageAndGrowsWithLargerZspages() {
    PoolGeometry four = PoolGeometry.of(4);
    int t = four.hugeThreshold();
    assertThat(four.classFor(t).huge()).isTrue();
    assertThat(four.classFor(t - 1).huge()).isFalse();
    assertThat(t).isEqualTo(3265); // zsmalloc's huge_class_size is 3264 with 4-page zspages
    assertThat(four.classFor(t).size()).isEqualTo(4096); // all huge sizes merge into the page class
    assertThat(t).isBetween(3000, 3600);
    assertThat(PoolGeometry.of(16).hugeThreshold()).isGreaterThan(t);
  }

  @Test
  void knownGeometries() {
    PoolGeometry g = PoolGeometry.of(4);
    // 3 000 bytes round up to 3 072: three pages hold four objects with no waste.
    ClassGeometry c = g.classFor(3000);
    assertThat(c.size()).isEqualTo(3072);
    assertThat(c.pagesPerZspage()).isEqualTo(3);
    assertThat(c.objsPerZspage()).isEqualTo(4);
    // 3 264 bytes: four pages hold five (64 bytes left over) where one page would waste 832.
    assertThat(g.classFor(3264).pagesPerZspage()).isEqualTo(4);
    assertThat(g.classFor(3264).objsPerZspage()).isEqualTo(5);
    // 2 048 divides the page: no waste with any page count, so the fewest pages that hold
    // eight objects (four), to share the zspage's heap metadata; zsmalloc would take one page.
    assertThat(g.classFor(2048).pagesPerZspage()).isEqualTo(4);
    assertThat(g.classFor(2048).objsPerZspage()).isEqualTo(8);
    // 1 024: two pages hold eight. 512: one page holds eight already.
    assertThat(g.classFor(1024).pagesPerZspage()).isEqualTo(2);
    assertThat(g.classFor(512).pagesPerZspage()).isEqualTo(1);
    // Not a tie: 3 264 keeps the four pages that waste least, even with five objects.
    assertThat(g.classFor(3264).objsPerZspage()).isEqualTo(5);
  }

  @Test
  void badArgumentsAreRefused() {
    assertThatThrownBy(() -> PoolGeometry.of(0)).hasMessageContaining("1..16");
    assertThatThrownBy(() -> PoolGeometry.of(4).classFor(0)).hasMessageContaining("outside 1..4096");
    assertThatThrownBy(() -> PoolGeometry.of(4).classFor(4097)).hasMessageContaining("outside 1..4096");
  }
}
