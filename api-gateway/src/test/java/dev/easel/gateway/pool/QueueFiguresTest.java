package dev.easel.gateway.pool;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

class QueueFiguresTest {
    @Test
    void startEtaSpreadsTheJobsAheadOverTheDevicesAtTheRecentMeanRunTime() {
        QueueFigures figures = new QueueFigures();
        assertNull(figures.startEtaMillis("toy", 3, 2, 2), "no estimate before a job of the model ran");
        figures.jobRan("toy", 1000);
        assertEquals(1500, figures.startEtaMillis("toy", 3, 2, 2), "3 jobs to start on 2 busy devices");
        assertEquals(0, figures.startEtaMillis("toy", 1, 2, 1), "an idle device is left for it");
        assertEquals(500, figures.startEtaMillis("toy", 2, 2, 1));
        figures.jobRan("toy", 2000);
        assertEquals(1100 * 3 / 2, figures.startEtaMillis("toy", 3, 2, 2), "the mean moves a tenth of the way");
        assertNull(figures.startEtaMillis("other", 1, 1, 1));
        assertNull(figures.startEtaMillis("toy", 1, 0, 0), "no device serves it");
    }
}
