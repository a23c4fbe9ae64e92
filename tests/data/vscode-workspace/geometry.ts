// Geometry: the TypeScript file the VS Code end-to-end test types into.

/** Return the area of a circle with the given radius. */
export function circleArea(radius: number): number {
  
}

console.log(circleArea(2));
