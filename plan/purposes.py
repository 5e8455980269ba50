"""The twelve purposes (propósitos) of the instrument: the number is stored, the text shown."""

PURPOSES: dict[int, str] = {
    1: "Planificar socio-ambientalmente la actividad minera para alcanzar el ordenamiento del "
    "territorio alrededor del agua y la sustentabilidad de las regiones en las que se han "
    "desarrollado operaciones mineras.",
    2: "Promover rutas de formalización para mineros y mineras.",
    3: "Promover la asociatividad entre mineros y mineras de pequeña escala y entre diferentes "
    "actividades productivas.",
    4: "Promover la reindustrialización a partir de minerales estratégicos y nuevas "
    "alternativas productivas.",
    5: "Fomentar la reconversión productiva y laboral para garantizar condiciones de trabajo "
    "digno y decente.",
    6: "Generar soluciones concertadas a los conflictos derivados de las actividades mineras.",
    7: "Generar condiciones para garantizar la soberanía alimentaria.",
    8: "Promover el cuidado y la preservación de las fuentes hídricas.",
    9: "Impulsar y desarrollar alternativas productivas a partir de la identificación de la "
    "aptitud del territorio, generando sinergias que aprovechen las diferentes vocaciones "
    "productivas coexistentes y promoviendo acciones de participación en la construcción de "
    "dichas alternativas.",
    10: "Promover el despliegue integral de la oferta institucional.",
    11: "Desarrollar modelos participativos para la protección y la conservación de los "
    "recursos naturales.",
    12: "Promover la bancarización y acceso a créditos para promover proyectos productivos de "
    "diferente índole.",
}
