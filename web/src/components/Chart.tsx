import { BarChart, LineChart } from 'echarts/charts'
import { GridComponent, TooltipComponent } from 'echarts/components'
import * as echarts from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'
import { useEffect, useRef } from 'react'

echarts.use([BarChart, LineChart, GridComponent, TooltipComponent, CanvasRenderer])

/** One small ECharts series over days (bars or a line), resized with its box. */
export default function Chart({ days, values, kind = 'bar', color, format, testId }: {
  days: string[]
  values: number[]
  kind?: 'bar' | 'line'
  color?: string
  format?: (v: number) => string
  testId?: string
}) {
  const box = useRef<HTMLDivElement>(null)
  const chart = useRef<echarts.ECharts | null>(null)
  useEffect(() => {
    chart.current = echarts.init(box.current!)
    const observer = new ResizeObserver(() => chart.current?.resize())
    observer.observe(box.current!)
    return () => {
      observer.disconnect()
      chart.current?.dispose()
    }
  }, [])
  useEffect(() => {
    chart.current?.setOption({
      animation: false,
      grid: { left: 48, right: 12, top: 12, bottom: 28 },
      tooltip: { trigger: 'axis', valueFormatter: format ? (v: unknown) => format(Number(v)) : undefined },
      xAxis: { type: 'category', data: days },
      yAxis: { type: 'value', minInterval: format ? 0 : 1, ...(format ? { axisLabel: { formatter: (v: number) => format(v) } } : {}) },
      series: [{ type: kind, data: values, itemStyle: { color }, lineStyle: { color } }],
    })
  }, [days, values, kind, color, format])
  return <div ref={box} className="chart" data-testid={testId} data-values={values.join(',')} />
}
